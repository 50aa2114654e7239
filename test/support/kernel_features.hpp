// The kernel features the tests depend on, each with the oldest mainline Linux that has it: the one place
// that says so. A test guards itself with REQUIRE_FEATURE(feature::x) (skip.hpp): skipped with the
// feature's name and version on an older kernel, run (and so required to pass) on a newer one.
// tools/kernel-support-table reads this file (keep one feature per line, in this form) to write
// docs/kernel-support.md from the test results on each kernel.
#pragma once

namespace sockfilter_test {

/// A kernel feature: what it is and the Linux version (major.minor) that brought it.
struct KernelFeature {
    const char* name;
    int major;
    int minor;
};

namespace feature {
// clang-format off
inline constexpr KernelFeature socket_filter_programs{"BPF_PROG_LOAD of BPF_PROG_TYPE_SOCKET_FILTER", 3, 19};
inline constexpr KernelFeature so_attach_bpf{"SO_ATTACH_BPF and SO_DETACH_BPF", 3, 19};
inline constexpr KernelFeature maps{"BPF_MAP_CREATE, hash and array maps, maps used by socket filters", 3, 19};
inline constexpr KernelFeature pins{"BPF_OBJ_PIN and BPF_OBJ_GET on a bpf filesystem", 4, 4};
inline constexpr KernelFeature percpu_maps{"per-CPU hash and array maps", 4, 6};
inline constexpr KernelFeature lru_hash_maps{"BPF_MAP_TYPE_LRU_HASH", 4, 10};
inline constexpr KernelFeature next_key_from_start{"BPF_MAP_GET_NEXT_KEY with no key", 4, 12};
inline constexpr KernelFeature object_ids{"BPF_OBJ_GET_INFO_BY_FD, BPF_PROG/MAP_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID", 4, 13};
inline constexpr KernelFeature object_names{"program and map names", 4, 15};
inline constexpr KernelFeature test_run{"BPF_PROG_TEST_RUN of socket filters", 4, 16};
inline constexpr KernelFeature bpf_to_bpf_calls{"bpf-to-bpf calls", 4, 16};
inline constexpr KernelFeature btf{"BPF_BTF_LOAD and BTF-defined maps", 4, 18};
inline constexpr KernelFeature btf_func_line_info{"BTF func and line info in program loads", 5, 0};
inline constexpr KernelFeature jmp32{"BPF_JMP32 instructions", 5, 1};
inline constexpr KernelFeature gpl_compatible_info{"bpf_prog_info.gpl_compatible", 5, 1};
inline constexpr KernelFeature global_data{"global data (.data, .rodata, .bss), BTF VAR and DATASEC", 5, 2};
inline constexpr KernelFeature map_freeze{"BPF_MAP_FREEZE and frozen in fdinfo", 5, 2};
inline constexpr KernelFeature million_insns{"the 1,000,000 processed instruction limit", 5, 2};
inline constexpr KernelFeature test_run_ctx{"BPF_PROG_TEST_RUN ctx_in and ctx_out for socket filters", 5, 2};
inline constexpr KernelFeature dot_in_names{"'.' in program names", 5, 2};
inline constexpr KernelFeature so_detach_reuseport_bpf{"SO_DETACH_REUSEPORT_BPF", 5, 3};
inline constexpr KernelFeature enable_stats{"BPF_ENABLE_STATS", 5, 8};
inline constexpr KernelFeature ring_buffers{"BPF_MAP_TYPE_RINGBUF", 5, 8};
inline constexpr KernelFeature cap_bpf{"CAP_BPF", 5, 8};
inline constexpr KernelFeature memcg_accounting{"memcg accounting of BPF memory instead of RLIMIT_MEMLOCK", 5, 11};
inline constexpr KernelFeature verified_insns{"bpf_prog_info up to verified_insns", 5, 16};
inline constexpr KernelFeature bpf_loop{"bpf_loop and callbacks", 5, 17};
inline constexpr KernelFeature rotating_verifier_log{"the rotating verifier log and log_true_size", 6, 4};
inline constexpr KernelFeature test_run_checksum_complete{"BPF_F_TEST_SKB_CHECKSUM_COMPLETE", 6, 11};
// clang-format on
}  // namespace feature

}  // namespace sockfilter_test
