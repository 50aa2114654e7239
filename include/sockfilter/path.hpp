// Paths handed to the kernel: NUL-terminated copies, checked before any syscall.
#pragma once

#include <cstddef>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::sys {

/// A NUL-terminated path checked for embedded NULs and length (see PathBuffer). Borrowed.
class PathRef final {
public:
    [[nodiscard]] const char* c_str() const noexcept { return path_; }

private:
    friend class PathBuffer;
    explicit PathRef(const char* path) noexcept : path_(path) {}
    const char* path_;
};

/// Holds a copy of a path with its terminating NUL, on the stack (PATH_MAX bytes, no allocation).
class PathBuffer final {
public:
    /// Copies `path`. Errors (InvalidArgument, operation "path"): empty, contains a NUL byte, or is
    /// 4096 bytes or longer.
    [[nodiscard]] static Result<PathBuffer> from(std::string_view path);
    [[nodiscard]] PathRef ref() const noexcept { return PathRef(bytes_); }
    [[nodiscard]] std::string_view view() const noexcept { return {bytes_, size_}; }

private:
    PathBuffer() = default;
    char bytes_[4096]{};
    std::size_t size_ = 0;
};

}  // namespace sockfilter::sys
