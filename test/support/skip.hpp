// Test support: skipping a test case with a reason (Catch2 2.x has no SKIP), and the checks that decide it.
#pragma once

#include <string>

#include "kernel_features.hpp"

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
/// Empty when the running kernel is at least as new as the version that brought `feature`; otherwise a
/// reason naming the feature, its version and the running kernel.
std::string kernel_lacks(const KernelFeature& feature);
/// Empty when the running kernel predates `feature`; otherwise a reason (for the tests of what the library
/// does on older kernels).
std::string kernel_has(const KernelFeature& feature);

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

/// Ends the test case as skipped when the running kernel predates the feature named (a constant of
/// kernel_features.hpp's sockfilter_test::feature, e.g. SKIP_WITHOUT_FEATURE(ring_buffers)).
#define SKIP_WITHOUT_FEATURE(name) SKIP_UNLESS(::sockfilter_test::kernel_lacks(::sockfilter_test::feature::name))

/// Ends the test case as skipped when the running kernel has the feature named: the test checks how the
/// library degrades on older kernels.
#define SKIP_WITH_FEATURE(name) SKIP_UNLESS(::sockfilter_test::kernel_has(::sockfilter_test::feature::name))

/// The usual guard of a kernel test: privileges, then the kernel feature (REQUIRE_FEATURE(ring_buffers)).
#define REQUIRE_FEATURE(name)                                         \
    do {                                                              \
        SKIP_UNLESS(::sockfilter_test::missing_privileges());         \
        SKIP_WITHOUT_FEATURE(name);                                   \
    } while (false)
