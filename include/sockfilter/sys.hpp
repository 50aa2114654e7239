// sockfilter::sys: one typed function per bpf(2) command, usable on its own. Each fills a zeroed
// `union bpf_attr` up to the last field it uses, makes one syscall, and turns errno into an Error whose
// operation() is the command's name. Returned fds are owned, close-on-exec and never 0–2.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/owned_fd.hpp"
#include "sockfilter/path.hpp"
#include "sockfilter/program_fd.hpp"
#include "sockfilter/test_run.hpp"

namespace sockfilter::sys {

/// BPF_PROG_LOAD request. `insns` and `license` are borrowed for the call.
struct ProgLoadRequest {
    std::uint32_t program_type = 0;          ///< enum bpf_prog_type
    std::span<const Insn> insns{};           ///< the program
    const char* license = "GPL";             ///< NUL-terminated; "GPL" or compatible for GPL-only helpers
    std::string_view name{};                 ///< at most 15 bytes (Linux 4.15+); validated by the kernel
    std::uint32_t expected_attach_type = 0;  ///< enum bpf_attach_type (Linux 4.17+), 0 for socket filters
    std::uint32_t flags = 0;                 ///< BPF_F_* load flags
    std::span<char> log{};                   ///< verifier log buffer; empty = no log
    std::uint32_t log_level = 0;             ///< 1 branches, 2 every instruction, 4 statistics
};

/// BPF_PROG_LOAD (Linux 3.18; socket filters 3.19). Needs CAP_BPF (or CAP_SYS_ADMIN), or
/// kernel.unprivileged_bpf_disabled = 0 for socket filters. Retries EAGAIN (verifier interrupted by a
/// signal) up to 5 times. With a log: the log is written into request.log; on ENOSPC the Error's
/// sizes_needed().log holds the size the kernel needed (Linux 6.4+). A name longer than 15 bytes is
/// refused as InvalidArgument before the call.
[[nodiscard]] Result<ProgramFd> prog_load(const ProgLoadRequest& request);

/// BPF_OBJ_PIN (Linux 4.4): pins the object `fd` at `path`, which must be on a bpffs.
/// Errors: EPERM (not bpffs, or '.' in the name), EEXIST, ENOENT (parent missing), EACCES.
[[nodiscard]] Result<void> obj_pin(int fd, PathRef path);

/// BPF_OBJ_GET (Linux 4.4; file_flags 4.15): opens the object pinned at `path`, which may be any kind of
/// BPF object (program, map, link): check its type. `file_flags`: 0, BPF_F_RDONLY or BPF_F_WRONLY.
[[nodiscard]] Result<OwnedFd> obj_get(PathRef path, std::uint32_t file_flags = 0);

/// BPF_OBJ_GET_INFO_BY_FD (Linux 4.13): fills `info` (e.g. a zeroed bpf_prog_info, possibly with array
/// pointers and counts set) with min(info.size(), kernel's size) bytes and returns the size the kernel
/// wrote. Bytes beyond the kernel's struct must be zero (else E2BIG).
[[nodiscard]] Result<std::uint32_t> obj_get_info_by_fd(int fd, std::span<std::byte> info);

/// BPF_PROG_TEST_RUN (Linux 4.12; socket filters 4.16). Empty output spans are passed as NULL. On ENOSPC
/// the Error's sizes_needed() holds the data/ctx sizes the kernel needed.
[[nodiscard]] Result<TestRunResult> prog_test_run(int program_fd, const TestRunOptions& options);

/// BPF_PROG_GET_NEXT_ID (Linux 4.13, CAP_SYS_ADMIN): the id after `start_id`; NotFound at the end.
[[nodiscard]] Result<std::uint32_t> prog_get_next_id(std::uint32_t start_id);

/// BPF_PROG_GET_FD_BY_ID (Linux 4.13, CAP_SYS_ADMIN): a new fd for program `id`; NotFound if it is gone.
[[nodiscard]] Result<ProgramFd> prog_get_fd_by_id(std::uint32_t id);

/// BPF_ENABLE_STATS (Linux 5.8, CAP_SYS_ADMIN): run-time statistics are collected while the returned fd
/// is open. `type`: BPF_STATS_RUN_TIME.
[[nodiscard]] Result<OwnedFd> enable_stats(std::uint32_t type);

}  // namespace sockfilter::sys
