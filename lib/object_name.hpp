// Private: the kernel's rule for program and map names, checked before any syscall.
#pragma once

#include <cstddef>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// Success when `name` has at most 15 characters, each of [A-Za-z0-9_.] (BPF_OBJ_NAME_LEN, Linux 4.15+);
/// otherwise InvalidArgument for `operation` ("program name", "map name") saying what is wrong.
Result<void> check_object_name(std::string_view name, const char* operation);

/// A name as the kernel returns it in bpf_prog_info/bpf_map_info: `capacity` bytes, NUL-padded, with no
/// NUL when all 16 are used by an old kernel.
inline std::string_view kernel_name(const char* name, std::size_t capacity) noexcept {
    std::size_t length = 0;
    while (length < capacity && name[length] != '\0') ++length;
    return {name, length};
}

}  // namespace sockfilter::detail
