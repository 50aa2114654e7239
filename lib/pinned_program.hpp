// Private: opening a pinned object and making sure it is a program (of the wanted type).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/program_fd.hpp"

namespace sockfilter::detail {

/// BPF_OBJ_GET on `path`, then the object's kind from /proc/self/fdinfo: a map, a link or a program of
/// another type than `wanted_type` (when given) is UnexpectedProgramType, and the fd is closed.
Result<ProgramFd> open_pinned_program(std::string_view path, std::optional<std::uint32_t> wanted_type);

}  // namespace sockfilter::detail
