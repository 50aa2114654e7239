// Private: what /proc/self/fdinfo/N tells about a BPF object fd.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// The lines of a BPF fd's fdinfo that sockfilter uses.
struct FdInfo {
    std::optional<std::uint32_t> prog_type;  ///< present only for programs
    std::optional<std::uint32_t> map_type;   ///< present only for maps
    std::optional<std::uint64_t> memlock;    ///< bytes charged
    std::optional<bool> frozen;              ///< maps only: BPF_MAP_FREEZE was called (Linux 5.2+)
    bool link = false;                       ///< a BPF link
};

/// Parses fdinfo text; unknown lines are ignored, malformed numbers leave the field empty.
FdInfo parse_fdinfo(std::string_view text) noexcept;

/// Reads /proc/self/fdinfo/<fd> (open, read, close; no allocation). Errors: the open/read errno
/// (NotFound when /proc is not mounted).
Result<FdInfo> read_fdinfo(int fd);

}  // namespace sockfilter::detail
