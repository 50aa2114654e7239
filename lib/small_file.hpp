// Private: reading a small kernel file (/proc, /sys) into a caller's buffer through the OS layer.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// Reads `path` into `buffer` (open, read until EOF or the buffer is full, close; no allocation) and
/// returns the byte count. Errors: the open/read errno for `operation`, with "opening <what>" or
/// "reading <what>" as the detail.
Result<std::size_t> read_small_file(const char* path, std::span<char> buffer, const char* operation, std::string_view what);

}  // namespace sockfilter::detail
