// The running kernel's version (uname(2), through the OS layer so tests can pretend another kernel): only
// to explain a failure after the fact, never to decide what to ask the kernel.
#pragma once

#include <string>

namespace sockfilter::detail {

/// The running kernel's release string (uname -r), or "unknown".
[[nodiscard]] std::string kernel_release();

/// True when the running kernel is known to be older than major.minor (false when it cannot be read).
[[nodiscard]] bool kernel_older_than(int major, int minor) noexcept;

}  // namespace sockfilter::detail
