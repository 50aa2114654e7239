// Private: the kernel's rule for program and map names, checked before any syscall.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// True for the characters the kernel accepts in a name: [A-Za-z0-9_.].
constexpr bool is_object_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

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

/// Copies `name` into the name field `destination`, cut to leave its last byte NUL. An empty name copies
/// nothing (its data() may be null, which memcpy must never see).
inline void copy_name(std::span<char> destination, std::string_view name) noexcept {
    if (name.empty() || destination.empty()) return;
    std::memcpy(destination.data(), name.data(), std::min(name.size(), destination.size() - 1));
}

}  // namespace sockfilter::detail
