// RingBuf: mapping a BPF ring buffer and walking its records with the kernel's memory ordering.
#include "sockfilter/ring_buf.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <climits>

#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter {

namespace {

constexpr auto busy_bit = static_cast<std::uint32_t>(BPF_RINGBUF_BUSY_BIT);
constexpr auto discard_bit = static_cast<std::uint32_t>(BPF_RINGBUF_DISCARD_BIT);
constexpr auto header_size = static_cast<std::size_t>(BPF_RINGBUF_HDR_SZ);

// The positions are the kernel's `unsigned long` counters at offset 0 of the consumer and producer pages.
// Producers publish with a release store of the producer position (and of each record's length word when
// it commits or discards); the consumer reads them with acquire loads, and hands space back with a
// release store of the consumer position once it is done with a record (as libbpf's ringbuf.c).
unsigned long load_acquire(const unsigned long* position) noexcept { return __atomic_load_n(position, __ATOMIC_ACQUIRE); }

std::uint32_t load_acquire(const std::uint32_t* word) noexcept { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

void store_release(unsigned long* position, unsigned long value) noexcept {
    __atomic_store_n(position, value, __ATOMIC_RELEASE);
}

// The bytes a record of `length` bytes takes in the ring: header plus data, rounded up to 8.
unsigned long record_footprint(std::uint32_t length) noexcept {
    return (static_cast<unsigned long>(length) + header_size + 7) / 8 * 8;
}

}  // namespace

// cppcheck-suppress passedByValue ; a sink: the Map (move-only) is moved into the member
RingBuf::RingBuf(Map map, void* consumer, void* producer, std::size_t page_size, OwnedFd epoll) noexcept
    : map_(std::move(map)), consumer_(consumer), producer_(producer), page_size_(page_size),
      data_size_(map_.max_entries()), epoll_(std::move(epoll)) {}

Result<RingBuf> RingBuf::create(Map map) {
    if (map.map_type() != BPF_MAP_TYPE_RINGBUF) {
        return fail(ErrorKind::UnexpectedMapType, "ring buffer", 0,
                    detail::concat({"map \"", map.name(), "\" has type ", std::uint64_t{map.map_type()},
                                    "; a RingBuf needs BPF_MAP_TYPE_RINGBUF (", std::uint64_t{BPF_MAP_TYPE_RINGBUF}, ")"}));
    }
    const int fd = map.fd().get();
    const auto page_size = static_cast<std::size_t>(detail::os::page_size());
    const std::size_t data_size = map.max_entries();

    void* consumer = nullptr;
    if (const int ret = detail::os::mmap_shared(fd, page_size, PROT_READ | PROT_WRITE, 0, &consumer); ret < 0) {
        return std::unexpected(Error::from_errno("mmap", -ret,
            detail::concat({"the consumer page of ring buffer \"", map.name(), "\" (read-write, ", page_size, " bytes)"})));
    }
    // From here the RingBuf owns what is mapped: an early return unmaps it (and closes the map).
    RingBuf ring(std::move(map), consumer, nullptr, page_size, OwnedFd{});

    void* producer = nullptr;
    const std::size_t producer_length = page_size + 2 * data_size;
    if (const int ret = detail::os::mmap_shared(fd, producer_length, PROT_READ, static_cast<long>(page_size), &producer);
        ret < 0) {
        return std::unexpected(Error::from_errno("mmap", -ret,
            detail::concat({"the producer page and data of ring buffer \"", ring.map_.name(), "\" (read-only, ",
                            producer_length, " bytes)"})));
    }
    ring.producer_ = producer;

    const int epoll = detail::os::epoll_create_cloexec();
    if (epoll < 0) return std::unexpected(Error::from_errno("epoll_create1", -epoll));
    ring.epoll_ = OwnedFd(epoll);
    if (const int ret = detail::os::epoll_add(epoll, fd, EPOLLIN); ret < 0) {
        return std::unexpected(Error::from_errno("epoll_ctl", -ret, "adding the ring buffer's map fd"));
    }
    return ring;
}

RingBuf::RingBuf(RingBuf&& other) noexcept
    : map_(std::move(other.map_)), consumer_(std::exchange(other.consumer_, nullptr)),
      producer_(std::exchange(other.producer_, nullptr)), page_size_(std::exchange(other.page_size_, 0)),
      data_size_(std::exchange(other.data_size_, 0)), epoll_(std::move(other.epoll_)) {}

RingBuf& RingBuf::operator=(RingBuf&& other) noexcept {
    if (this != &other) {
        unmap();
        map_ = std::move(other.map_);
        consumer_ = std::exchange(other.consumer_, nullptr);
        producer_ = std::exchange(other.producer_, nullptr);
        page_size_ = std::exchange(other.page_size_, 0);
        data_size_ = std::exchange(other.data_size_, 0);
        epoll_ = std::move(other.epoll_);
    }
    return *this;
}

RingBuf::~RingBuf() { unmap(); }

void RingBuf::unmap() noexcept {
    if (producer_ != nullptr) static_cast<void>(detail::os::munmap(producer_, page_size_ + 2 * data_size_));
    if (consumer_ != nullptr) static_cast<void>(detail::os::munmap(consumer_, page_size_));
    producer_ = nullptr;
    consumer_ = nullptr;
}

Map RingBuf::into_map() && noexcept {
    unmap();
    data_size_ = 0;
    epoll_.reset();
    return std::move(map_);
}

std::size_t RingBuf::available_bytes() const noexcept {
    if (consumer_ == nullptr || producer_ == nullptr) return 0;
    const unsigned long consumer = load_acquire(static_cast<const unsigned long*>(consumer_));
    const unsigned long producer = load_acquire(static_cast<const unsigned long*>(producer_));
    return producer - consumer;
}

Result<void> RingBuf::wait(std::chrono::milliseconds timeout) {
    if (!epoll_) return fail(ErrorKind::InvalidArgument, "epoll_wait", 0, "the RingBuf was moved from");
    const int timeout_ms = timeout.count() < 0 ? -1 : static_cast<int>(std::min<std::chrono::milliseconds::rep>(timeout.count(), INT_MAX));
    epoll_event event{};
    const int ready = detail::os::epoll_wait(epoll_.get(), &event, 1, timeout_ms);
    if (ready < 0) return std::unexpected(Error::from_errno("epoll_wait", -ready));
    return {};
}

std::size_t RingBuf::consume_records(detail::RecordSink sink) {
    if (consumer_ == nullptr || producer_ == nullptr) return 0;
    auto* const consumer_position = static_cast<unsigned long*>(consumer_);
    const auto* const producer_position = static_cast<const unsigned long*>(producer_);
    const auto* const data = static_cast<const std::byte*>(producer_) + page_size_;
    const unsigned long mask = data_size_ - 1;  // the kernel makes the size a power of 2

    unsigned long consumer = load_acquire(consumer_position);
    std::size_t consumed = 0;
    for (;;) {
        const unsigned long producer = load_acquire(producer_position);
        if (consumer >= producer) return consumed;
        while (consumer < producer) {
            const std::byte* const header = data + (consumer & mask);
            const std::uint32_t word = load_acquire(reinterpret_cast<const std::uint32_t*>(header));
            if ((word & busy_bit) != 0) return consumed;  // reserved, not yet submitted or discarded
            const std::uint32_t length = word & ~(busy_bit | discard_bit);
            const unsigned long next = consumer + record_footprint(length);
            if ((word & discard_bit) != 0) {
                consumer = next;
                store_release(consumer_position, consumer);
                continue;
            }
            // The data area is mapped twice in a row, so a record that wraps is contiguous here.
            const RecordAction action = sink.call(sink.callable, std::span(header + header_size, length));
            consumer = next;
            store_release(consumer_position, consumer);
            ++consumed;
            if (action == RecordAction::Stop) return consumed;
        }
    }
}

}  // namespace sockfilter
