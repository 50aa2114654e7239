// RingBuf: the user-space consumer of a BPF_MAP_TYPE_RINGBUF map, reading records in place from the mapping.
#pragma once

#include <linux/bpf.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "sockfilter/error.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter {

/// What a RingBuf::consume or RingBuf::poll callback answers after each record.
enum class RecordAction : std::uint8_t {
    Continue,  ///< go on with the next record
    Stop,      ///< stop after this record (it counts as consumed); the rest stays for the next call
};

namespace detail {

/// A borrowed callback, type-erased without allocation: `call(callable, record)`.
struct RecordSink {
    void* callable;
    RecordAction (*call)(void* callable, std::span<const std::byte> record);
};

/// The sink for `callback`, which takes a std::span<const std::byte> and returns void (always continue)
/// or RecordAction.
template <typename F>
RecordSink record_sink(F& callback) noexcept {
    using Returned = std::invoke_result_t<F&, std::span<const std::byte>>;
    static_assert(std::is_void_v<Returned> || std::is_same_v<Returned, RecordAction>,
                  "a ring buffer callback takes std::span<const std::byte> and returns void or RecordAction");
    return RecordSink{const_cast<void*>(static_cast<const void*>(std::addressof(callback))), [](void* callable, std::span<const std::byte> record) {
                          F& f = *static_cast<F*>(callable);
                          if constexpr (std::is_void_v<Returned>) {
                              std::invoke(f, record);
                              return RecordAction::Continue;
                          } else {
                              return std::invoke(f, record);
                          }
                      }};
}

}  // namespace detail

/// The consumer side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8): programs write records with
/// bpf_ringbuf_output or bpf_ringbuf_reserve/submit, and RingBuf hands each one to a callback as a span
/// pointing into the shared mapping (no copy). Owns the Map, its two mappings and an epoll fd; move-only;
/// the destructor unmaps and closes them. Meant for one consuming thread at a time (any number of programs
/// may produce concurrently); calls on one RingBuf must not overlap.
class RingBuf final {
public:
    /// The map type a RingBuf consumes.
    static constexpr bpf_map_type MAP_TYPE = BPF_MAP_TYPE_RINGBUF;

    /// Takes `map` and maps it: the consumer page read-write (1 page at offset 0), the producer page and the
    /// data area read-only (1 page + 2 × max_entries at offset 1 page; the kernel maps the data twice so a
    /// record that wraps is contiguous), and creates an epoll fd (close-on-exec) watching the map fd.
    /// Linux 5.8; needs only the map fd (creating the map needs CAP_BPF or CAP_SYS_ADMIN).
    /// Errors: UnexpectedMapType for any other map type; the mmap, epoll_create1 or epoll_ctl errno
    /// (operations "mmap", "epoll_create1", "epoll_ctl"). On failure the map is closed and nothing is left
    /// mapped.
    [[nodiscard]] static Result<RingBuf> create(Map map);

    RingBuf(RingBuf&& other) noexcept;
    RingBuf& operator=(RingBuf&& other) noexcept;
    RingBuf(const RingBuf&) = delete;
    RingBuf& operator=(const RingBuf&) = delete;
    /// Unmaps both mappings; the epoll fd and the map fd are closed.
    ~RingBuf();

    /// Calls `callback(std::span<const std::byte>)` for every record available, oldest first, until the
    /// ring is empty (records written meanwhile included), the next record is still being written (busy),
    /// or the callback returns RecordAction::Stop. Discarded records are skipped without a call. The span
    /// is valid only during the call: the consumer position moves past each record right after its
    /// callback returns, and the producer may then overwrite it. If the callback throws, that record is not
    /// consumed (it comes again next time). No syscall. Returns the number of records handed to the callback
    /// (0 on a moved-from RingBuf).
    template <typename F>
    std::size_t consume(F&& callback) {
        return consume_records(detail::record_sink(callback));
    }

    /// Waits up to `timeout` (negative: no limit; zero: do not wait) until the ring has data, with
    /// epoll_wait on the epoll fd made in create(), then consume(callback). Returns the records consumed (0
    /// when the timeout passed with nothing written). Records already waiting are consumed at once.
    /// Errors: the epoll_wait errno (EINTR when a signal arrived: SyscallFailed, nothing consumed);
    /// InvalidArgument on a moved-from RingBuf.
    template <typename F>
    [[nodiscard]] Result<std::size_t> poll(std::chrono::milliseconds timeout, F&& callback) {
        if (auto waited = wait(timeout); !waited) return std::unexpected(std::move(waited.error()));
        return consume_records(detail::record_sink(callback));
    }

    /// Bytes written by producers and not yet consumed, headers and padding included (producer position −
    /// consumer position); 0 on a moved-from RingBuf.
    [[nodiscard]] std::size_t available_bytes() const noexcept;
    /// The size of the data area in bytes (the map's max_entries).
    [[nodiscard]] std::size_t capacity() const noexcept { return data_size_; }

    /// The map fd, borrowed: readable (EPOLLIN) when records are waiting, for the caller's own poll or
    /// epoll loop (then call consume()).
    [[nodiscard]] int fd() const noexcept { return map_.fd().get(); }
    /// The epoll fd poll() waits on (it watches fd()), borrowed; itself pollable.
    [[nodiscard]] int epoll_fd() const noexcept { return epoll_.get(); }
    /// The ring buffer map, borrowed (for ld_map_fd, pin(), info(), …).
    [[nodiscard]] const Map& map() const noexcept { return map_; }
    /// Unmaps the ring, closes the epoll fd and gives the map back.
    [[nodiscard]] Map into_map() && noexcept;

private:
    RingBuf(Map map, void* consumer, void* producer, std::size_t page_size, OwnedFd epoll) noexcept;
    [[nodiscard]] Result<void> wait(std::chrono::milliseconds timeout);
    std::size_t consume_records(detail::RecordSink sink);
    void unmap() noexcept;

    Map map_;
    void* consumer_ = nullptr;  // the consumer page: consumer position at offset 0 (read-write)
    void* producer_ = nullptr;  // the producer page (producer position at offset 0), then the data twice
    std::size_t page_size_ = 0;
    std::size_t data_size_ = 0;
    OwnedFd epoll_;
};

}  // namespace sockfilter
