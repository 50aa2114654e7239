// ReusePortSocketFilter: an eBPF program that picks the socket of an SO_REUSEPORT group for each packet.
#pragma once

#include <span>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/program.hpp"
#include "sockfilter/socket_ref.hpp"

namespace sockfilter {

/// A socket filter program in the group-wide slot of an SO_REUSEPORT group (SO_ATTACH_REUSEPORT_EBPF,
/// Linux 4.5 for UDP, 4.6 for TCP): its return value is the index, in bind order, of the socket that
/// receives the new connection or datagram (an index out of range falls back to the kernel's hash).
/// This slot is separate from each socket's own filter slot. Move-only; the destructor never detaches.
class ReusePortSocketFilter final : public Program {
public:
    /// As SocketFilter::create.
    [[nodiscard]] static Result<ReusePortSocketFilter> create(std::string_view name,
                                                              std::span<const Insn> instructions,
                                                              std::string_view license = "GPL");

    /// As SocketFilter::from_pin.
    [[nodiscard]] static Result<ReusePortSocketFilter> from_pin(std::string_view path);

    /// setsockopt(SO_ATTACH_REUSEPORT_EBPF) on any member of the group: replaces the group's program.
    /// Errors: NotLoaded; InvalidArgument when the socket has no SO_REUSEPORT group (set SO_REUSEPORT and
    /// bind first).
    [[nodiscard]] Result<void> attach(SocketRef socket) const;

    /// setsockopt(SO_DETACH_REUSEPORT_BPF, Linux 5.3) on any member: clears the group's program.
    /// Errors: NotFound when none is attached; InvalidArgument without a group.
    [[nodiscard]] static Result<void> detach(SocketRef socket);

private:
    friend class Object;  // takes programs out of ELF objects
    explicit ReusePortSocketFilter(Program&& program) noexcept : Program(std::move(program)) {}
};

}  // namespace sockfilter
