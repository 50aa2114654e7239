// Setting the int-valued SOL_SOCKET options that attach and detach programs.
#include "socket_option.hpp"

#include <sys/socket.h>

#include "syscall.hpp"

namespace sockfilter::detail {

Result<void> set_socket_option(int socket, int option, int value, const char* operation) {
    const int ret = os::setsockopt(socket, SOL_SOCKET, option, &value, sizeof value);
    if (ret < 0) return std::unexpected(Error::from_errno(operation, -ret));
    return {};
}

}  // namespace sockfilter::detail
