// Test support: skipping a test case with a reason (Catch2 2.x has no SKIP), and the checks that decide it.
#pragma once

#include <string>

namespace sockfilter_test {

/// Records that the running test case is skipped; test_main exits 77 (meson's "skipped") with the reason.
void record_skip(const std::string& reason);
/// The reason recorded for the current run, or empty.
const std::string& skip_reason();

/// True when the calling thread has `capability` (CAP_*) in its effective set.
bool has_capability(unsigned capability);

/// Empty when the process can load BPF programs and manage sockets/namespaces (root or CAP_BPF +
/// CAP_NET_ADMIN + CAP_SYS_ADMIN); otherwise why not.
std::string missing_privileges();
/// Empty when the running kernel is at least major.minor; otherwise a reason naming `feature`.
std::string kernel_older_than(int major, int minor, const std::string& feature);

}  // namespace sockfilter_test

/// Ends the test case as skipped when `reason_expression` yields a non-empty reason.
#define SKIP_UNLESS(reason_expression)                                 \
    do {                                                               \
        const std::string sf_skip_reason = (reason_expression);        \
        if (!sf_skip_reason.empty()) {                                 \
            ::sockfilter_test::record_skip(sf_skip_reason);            \
            return;                                                    \
        }                                                              \
    } while (false)

/// The usual guard of a kernel test: privileges, then the kernel version that brought the feature.
#define REQUIRE_KERNEL(major, minor, feature)                                              \
    do {                                                                                   \
        SKIP_UNLESS(::sockfilter_test::missing_privileges());                              \
        SKIP_UNLESS(::sockfilter_test::kernel_older_than((major), (minor), (feature)));    \
    } while (false)
