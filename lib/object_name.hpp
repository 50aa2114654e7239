// Private: the kernel's rule for program and map names, checked before any syscall.
#pragma once

#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// Success when `name` has at most 15 characters, each of [A-Za-z0-9_.] (BPF_OBJ_NAME_LEN, Linux 4.15+);
/// otherwise InvalidArgument for `operation` ("program name", "map name") saying what is wrong.
Result<void> check_object_name(std::string_view name, const char* operation);

}  // namespace sockfilter::detail
