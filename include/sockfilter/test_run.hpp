// Test runs: BPF_PROG_TEST_RUN inputs and outputs, as separate types.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sockfilter {

/// Inputs of one BPF_PROG_TEST_RUN (Linux 4.16+ for socket filters). For a socket filter, data_in is an
/// Ethernet frame of at least 14 bytes (the program sees what follows the 14-byte header) and at most
/// about a page. Buffers are borrowed: nothing is copied or allocated by sockfilter.
struct TestRunOptions {
    std::span<const std::byte> data_in{};  ///< the packet (required for socket filters)
    std::span<std::byte> data_out{};       ///< receives the packet after the run; empty = not wanted
    std::span<const std::byte> ctx_in{};   ///< a `struct __sk_buff` to start from (mark, priority, cb, …)
    std::span<std::byte> ctx_out{};        ///< receives the `struct __sk_buff` after the run
    std::uint32_t repeat = 1;              ///< runs in a row; duration is the mean (0 counts as 1)
    std::uint32_t flags = 0;               ///< BPF_F_TEST_SKB_CHECKSUM_COMPLETE (Linux 6.11; NotSupported before) or 0
};

/// What one BPF_PROG_TEST_RUN returned.
struct TestRunResult {
    std::uint32_t return_value = 0;          ///< the program's r0: for a socket filter, bytes to keep
    std::chrono::nanoseconds duration{0};    ///< mean time per run
    std::uint32_t data_size_out = 0;         ///< bytes of packet written to data_out (or that would be)
    std::uint32_t ctx_size_out = 0;          ///< bytes of context written to ctx_out
};

}  // namespace sockfilter
