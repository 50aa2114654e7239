// Private: symbolic errno names for messages, and the kernel-internal errno values that leak to userspace.
#pragma once

#include <string_view>

namespace sockfilter::detail {

/// ENOTSUPP: kernel-internal "operation not supported" (524), returned e.g. by BPF_PROG_TEST_RUN for a
/// program type without a test runner. Not in libc's headers.
inline constexpr int kernel_enotsupp = 524;

/// "EPERM" for EPERM, …; empty for values without a name here.
std::string_view errno_name(int errno_value) noexcept;

}  // namespace sockfilter::detail
