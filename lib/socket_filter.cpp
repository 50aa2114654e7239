// SocketFilter: the socket's own filter slot.
#include "sockfilter/socket_filter.hpp"

#include <sys/socket.h>

#include "socket_option.hpp"

namespace sockfilter {

Result<SocketFilter> SocketFilter::create(std::string_view name, std::span<const Insn> instructions,
                                          std::string_view license) {
    auto program = make(name, instructions, license);
    if (!program) return std::unexpected(std::move(program.error()));
    return SocketFilter(std::move(*program));
}

Result<SocketFilter> SocketFilter::from_pin(std::string_view path) {
    auto program = open_pin(path);
    if (!program) return std::unexpected(std::move(program.error()));
    return SocketFilter(std::move(*program));
}

Result<void> SocketFilter::attach(SocketRef socket) const {
    const auto program = loaded_fd("SO_ATTACH_BPF");
    if (!program) return std::unexpected(program.error());
    return detail::set_socket_option(socket.fd(), SO_ATTACH_BPF, *program, "SO_ATTACH_BPF");
}

Result<void> SocketFilter::detach(SocketRef socket) {
    return detail::set_socket_option(socket.fd(), SO_DETACH_BPF, 0, "SO_DETACH_BPF");
}

}  // namespace sockfilter
