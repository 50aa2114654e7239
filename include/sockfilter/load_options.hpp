// LoadOptions: how a program is loaded and how the verifier log is captured when the load fails.
#pragma once

#include <cstdint>
#include <span>

namespace sockfilter {

/// Options for Program::load(). The first load is always made without a verifier log (fast path, one
/// syscall). Only if it fails is the program loaded again with a log, which is attached to the Error.
struct LoadOptions {
    /// Verifier log level for the retry: 1 (branches), 2 (every instruction), optionally | 4 (statistics).
    std::uint32_t log_level = 1;
    /// Caller-supplied log buffer for the retry (at least 128 bytes): nothing is allocated, and a log that
    /// does not fit is cut (on Linux 6.4+ the kernel keeps its end, where the error is). Empty: sockfilter
    /// allocates 64 KiB and grows the buffer on ENOSPC up to 1 GiB.
    std::span<char> log_buffer{};
    /// BPF_F_* program flags (e.g. BPF_F_STRICT_ALIGNMENT, BPF_F_TEST_RND_HI32).
    std::uint32_t flags = 0;
};

}  // namespace sockfilter
