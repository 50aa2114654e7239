// Private: reading a small kernel file (/proc, /sys) into a caller's buffer through the OS layer.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// Reads `path` into `buffer` (open, read until EOF or the buffer is full, close; no allocation) and
/// returns the byte count. Errors: the open/read errno for `operation`, with "opening <what>" or
/// "reading <what>" as the detail.
Result<std::size_t> read_small_file(const char* path, std::span<char> buffer, const char* operation, std::string_view what);

/// Reads the whole file at `path` (an ELF object) into a new vector, growing it as it reads.
/// Errors: InvalidArgument (bad path); the open/read errno for `operation`, naming the path.
Result<std::vector<std::byte>> read_whole_file(std::string_view path, const char* operation);

}  // namespace sockfilter::detail
