// CPU lists as the kernel prints them (/sys/devices/system/cpu/possible), for per-CPU map values.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"

namespace sockfilter {

/// Parses a kernel CPU list such as "0", "0-3" or "0,2-5,7" (one trailing newline allowed) into the CPU
/// numbers it names, in increasing order. Items must be increasing and not overlap; CPU numbers must be
/// below 65536. Errors: InvalidArgument (operation "CPU list") naming the offending text.
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_cpu_list(std::string_view text);

/// The number of possible CPUs (/sys/devices/system/cpu/possible): per-CPU maps hold one value for each,
/// in CPU order. Errors: the open/read errno (operation "possible CPUs"; NotFound without /sys), or
/// InvalidArgument when the file does not parse.
[[nodiscard]] Result<std::uint32_t> possible_cpu_count();

}  // namespace sockfilter
