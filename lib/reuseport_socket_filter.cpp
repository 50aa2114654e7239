// ReusePortSocketFilter: the SO_REUSEPORT group's selection slot.
#include "sockfilter/reuseport_socket_filter.hpp"

#include <sys/socket.h>

#include "socket_option.hpp"

namespace sockfilter {

Result<ReusePortSocketFilter> ReusePortSocketFilter::create(std::string_view name, std::span<const Insn> instructions,
                                                            std::string_view license) {
    auto program = make(name, instructions, license);
    if (!program) return std::unexpected(std::move(program.error()));
    return ReusePortSocketFilter(std::move(*program));
}

Result<ReusePortSocketFilter> ReusePortSocketFilter::from_pin(std::string_view path) {
    auto program = open_pin(path);
    if (!program) return std::unexpected(std::move(program.error()));
    return ReusePortSocketFilter(std::move(*program));
}

Result<void> ReusePortSocketFilter::attach(SocketRef socket) const {
    const auto program = loaded_fd("SO_ATTACH_REUSEPORT_EBPF");
    if (!program) return std::unexpected(program.error());
    return detail::set_socket_option(socket.fd(), SO_ATTACH_REUSEPORT_EBPF, *program,
                                     "SO_ATTACH_REUSEPORT_EBPF");
}

Result<void> ReusePortSocketFilter::detach(SocketRef socket) {
    return detail::set_socket_option(socket.fd(), SO_DETACH_REUSEPORT_BPF, 0, "SO_DETACH_REUSEPORT_BPF");
}

}  // namespace sockfilter
