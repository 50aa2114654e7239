// SocketFilter: an eBPF program in a socket's filter slot (SO_ATTACH_BPF / SO_DETACH_BPF).
#pragma once

#include <span>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/program.hpp"
#include "sockfilter/socket_ref.hpp"

namespace sockfilter {

/// A socket filter: runs on every packet a socket receives; its return value is the number of bytes to
/// keep (0 drops the packet, a value at or above the length keeps it whole). Each socket has one filter
/// slot: attach() replaces whatever is there, detach() clears it whoever attached it. Minimum kernel 3.19.
/// Move-only; the destructor closes the program fd and never detaches (the socket keeps its filter).
class SocketFilter final : public Program {
public:
    /// A program not yet loaded. `name`: at most 15 of [A-Za-z0-9_.] (may be empty). `instructions` and
    /// `license` are copied. Errors: InvalidArgument naming what was wrong.
    [[nodiscard]] static Result<SocketFilter> create(std::string_view name, std::span<const Insn> instructions,
                                                     std::string_view license = "GPL");

    /// The socket filter pinned at `path` (BPF_OBJ_GET, Linux 4.4), already loaded. Anything else pinned
    /// there (a map, a link, another program type) is UnexpectedProgramType and its fd is closed.
    /// Errors: InvalidArgument (bad path); NotFound; PermissionDenied (not a pin, or no access); the errno of
    /// reading /proc/self/fdinfo or the program's name (BPF_OBJ_GET_INFO_BY_FD) when those fail.
    [[nodiscard]] static Result<SocketFilter> from_pin(std::string_view path);

    /// setsockopt(SO_ATTACH_BPF): puts this program in the socket's filter slot, replacing the current
    /// filter. Any socket family (UDP, TCP, unix, AF_PACKET, raw). The socket is borrowed.
    /// Errors: NotLoaded; PermissionDenied (filter locked with SO_LOCK_FILTER); kernel errno (EBADF, ENOTSOCK, ENOMEM).
    [[nodiscard]] Result<void> attach(SocketRef socket) const;

    /// setsockopt(SO_DETACH_BPF): clears the socket's filter slot, whichever program is in it.
    /// Errors: NotFound when no filter is attached; PermissionDenied when locked.
    [[nodiscard]] static Result<void> detach(SocketRef socket);

private:
    friend class Object;  // takes programs out of ELF objects
    explicit SocketFilter(Program&& program) noexcept : Program(std::move(program)) {}
};

}  // namespace sockfilter
