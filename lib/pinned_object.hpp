// Private: making sure an fd or a pinned object is a program or a map (of the wanted type).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/map_fd.hpp"
#include "sockfilter/program_fd.hpp"

namespace sockfilter::detail {

struct FdInfo;

/// Success when `kind` (an fd's fdinfo) describes a program, of `wanted_type` when given; otherwise
/// UnexpectedProgramType for `operation`, saying what the object is; `where` ends the sentence
/// (" is pinned at /sys/fs/bpf/x").
Result<void> require_program(const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                             std::string_view where);

/// The same for maps: UnexpectedMapType unless `kind` describes a map (of `wanted_type` when given).
Result<void> require_map(const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                         std::string_view where);

/// BPF_OBJ_GET on `path`, then the object's kind from /proc/self/fdinfo: a map, a link or a program of
/// another type than `wanted_type` (when given) is UnexpectedProgramType, and the fd is closed.
Result<ProgramFd> open_pinned_program(std::string_view path, std::optional<std::uint32_t> wanted_type);

/// BPF_OBJ_GET on `path` with require_map(): anything but a map is UnexpectedMapType, and the fd is closed.
Result<MapFd> open_pinned_map(std::string_view path);

}  // namespace sockfilter::detail
