// Private: the socket options that attach and detach programs.
#pragma once

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// setsockopt(socket, SOL_SOCKET, option, &value, sizeof(int)); `operation` names the option in errors.
Result<void> set_socket_option(int socket, int option, int value, const char* operation);

}  // namespace sockfilter::detail
