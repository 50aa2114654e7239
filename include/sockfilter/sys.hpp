// sockfilter::sys: one typed function per bpf(2) command, usable on its own. Each fills a zeroed
// `union bpf_attr` up to the last field it uses, makes one syscall, and turns errno into an Error whose
// operation() is the command's name. Returned fds are owned, close-on-exec and never 0–2.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/map_fd.hpp"
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
    int btf_fd = -1;                         ///< BTF object (btf_load) the info below refers to; -1: none (Linux 5.0+)
    std::span<const std::byte> func_info{};  ///< bpf_func_info records: one per function, insn_off in instructions
    std::uint32_t func_info_rec_size = 0;    ///< bytes per func_info record (8)
    std::span<const std::byte> line_info{};  ///< bpf_line_info records, sorted by insn_off, the first at 0
    std::uint32_t line_info_rec_size = 0;    ///< bytes per line_info record (16)
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
/// the Error's sizes_needed() holds the data/ctx sizes the kernel needed. EINVAL with
/// BPF_F_TEST_SKB_CHECKSUM_COMPLETE on a kernel before 6.11 is NotSupported, naming the version.
[[nodiscard]] Result<TestRunResult> prog_test_run(int program_fd, const TestRunOptions& options);

/// BPF_PROG_GET_NEXT_ID (Linux 4.13, CAP_SYS_ADMIN): the id after `start_id`; NotFound at the end.
[[nodiscard]] Result<std::uint32_t> prog_get_next_id(std::uint32_t start_id);

/// BPF_PROG_GET_FD_BY_ID (Linux 4.13, CAP_SYS_ADMIN): a new fd for program `id`; NotFound if it is gone.
[[nodiscard]] Result<ProgramFd> prog_get_fd_by_id(std::uint32_t id);

/// BPF_ENABLE_STATS (Linux 5.8, CAP_SYS_ADMIN): run-time statistics are collected while the returned fd
/// is open. `type`: BPF_STATS_RUN_TIME.
[[nodiscard]] Result<OwnedFd> enable_stats(std::uint32_t type);

/// BPF_MAP_CREATE request. Fields after `name` are for maps with BTF or special types; leave them 0.
struct MapCreateRequest {
    std::uint32_t map_type = 0;                   ///< enum bpf_map_type
    std::uint32_t key_size = 0;                   ///< bytes per key (4 for arrays)
    std::uint32_t value_size = 0;                 ///< bytes per value (per CPU for per-CPU maps)
    std::uint32_t max_entries = 0;                ///< capacity
    std::uint32_t map_flags = 0;                  ///< BPF_F_* map flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, …)
    std::string_view name{};                      ///< at most 15 bytes (Linux 4.15+); validated by the kernel
    std::uint32_t inner_map_fd = 0;               ///< map-in-map types only
    std::uint32_t numa_node = 0;                  ///< with BPF_F_NUMA_NODE only
    std::uint32_t ifindex = 0;                    ///< offload device (Linux 4.16+)
    std::uint32_t btf_fd = 0;                     ///< BTF object describing key and value (Linux 4.18+)
    std::uint32_t btf_key_type_id = 0;            ///< BTF type of the key
    std::uint32_t btf_value_type_id = 0;          ///< BTF type of the value
    std::uint32_t btf_vmlinux_value_type_id = 0;  ///< struct_ops maps (Linux 5.6+)
    std::uint64_t map_extra = 0;                  ///< per-type extra (bloom filter hashes; Linux 5.16+)
};

/// BPF_MAP_CREATE (Linux 3.18; names 4.15). Needs CAP_BPF (5.8+) or CAP_SYS_ADMIN unless
/// kernel.unprivileged_bpf_disabled is 0 (and then only some types). The attr is passed up to the last
/// non-zero optional field, so older kernels accept plain requests. A name longer than 15 bytes is refused
/// as InvalidArgument before the call. Errors: EINVAL (sizes, flags or name the type refuses), EPERM,
/// ENOMEM, E2BIG (value too large).
[[nodiscard]] Result<MapFd> map_create(const MapCreateRequest& request);

/// BPF_MAP_LOOKUP_ELEM (Linux 3.18): copies the value of `key` into `value`. `key` must hold key_size
/// bytes and `value` the map's value size (round_up(value_size, 8) × possible CPUs for per-CPU maps): not
/// checked here (the kernel reads and writes that many bytes). `flags`: 0 or BPF_F_LOCK (5.1).
/// Errors: ENOENT when the key is absent (NotFound), EPERM on a map opened write-only.
[[nodiscard]] Result<void> map_lookup_elem(int map_fd, std::span<const std::byte> key, std::span<std::byte> value,
                                           std::uint64_t flags = 0);

/// BPF_MAP_UPDATE_ELEM (Linux 3.18): stores `value` under `key` (buffers as for map_lookup_elem).
/// `flags`: BPF_ANY (create or replace), BPF_NOEXIST (create only), BPF_EXIST (replace only), optionally
/// | BPF_F_LOCK. Errors: EEXIST (NOEXIST, key present; always for arrays), ENOENT (EXIST, key absent),
/// E2BIG (map full, or array index out of range), EPERM (frozen or read-only map), EINVAL (bad flags).
[[nodiscard]] Result<void> map_update_elem(int map_fd, std::span<const std::byte> key, std::span<const std::byte> value,
                                           std::uint64_t flags = BPF_ANY);

/// BPF_MAP_DELETE_ELEM (Linux 3.18): removes `key`. Errors: ENOENT (absent), EINVAL (arrays cannot
/// delete), EPERM (frozen or read-only map).
[[nodiscard]] Result<void> map_delete_elem(int map_fd, std::span<const std::byte> key);

/// BPF_MAP_GET_NEXT_KEY (Linux 3.18; an empty `key` = first key, 4.12): writes the key after `key` into
/// `next_key` (key_size bytes). A hash map restarts from its first key when `key` is absent.
/// Errors: ENOENT after the last key (NotFound).
[[nodiscard]] Result<void> map_get_next_key(int map_fd, std::span<const std::byte> key, std::span<std::byte> next_key);

/// BPF_MAP_FREEZE (Linux 5.2): makes the map read-only for syscalls for good (programs may still write
/// unless created with BPF_F_RDONLY_PROG). Errors: EPERM (already frozen, opened read-only, or no CAP_BPF /
/// CAP_SYS_ADMIN), EBUSY (already frozen on Linux 6.1, which answers EBUSY where 6.18 answers EPERM; or a
/// writable mmap exists): both PermissionDenied; ENOTSUPP (524) for types that cannot be frozen.
[[nodiscard]] Result<void> map_freeze(int map_fd);

/// BPF_MAP_GET_NEXT_ID (Linux 4.13, CAP_SYS_ADMIN): the map id after `start_id`; NotFound at the end.
[[nodiscard]] Result<std::uint32_t> map_get_next_id(std::uint32_t start_id);

/// BPF_MAP_GET_FD_BY_ID (Linux 4.13, CAP_SYS_ADMIN): a new fd for map `id`; NotFound if it is gone.
/// `open_flags`: 0, BPF_F_RDONLY or BPF_F_WRONLY (4.15).
[[nodiscard]] Result<MapFd> map_get_fd_by_id(std::uint32_t id, std::uint32_t open_flags = 0);

/// BPF_BTF_LOAD request.
struct BtfLoadRequest {
    std::span<const std::byte> btf{};  ///< a whole .BTF blob (header, types, strings) as the kernel accepts it
    std::span<char> log{};             ///< BTF verifier log buffer; empty = no log
    std::uint32_t log_level = 0;       ///< 1 when a log is given
};

/// BPF_BTF_LOAD (Linux 4.18): loads type information for maps (key/value types) and programs
/// (func_info / line_info, 5.0) and returns its fd. Needs CAP_BPF or CAP_SYS_ADMIN. With a log, the
/// kernel explains a refusal in it. Errors: EINVAL (malformed or unknown BTF), EPERM, E2BIG, ENOSPC (log).
[[nodiscard]] Result<OwnedFd> btf_load(const BtfLoadRequest& request);

}  // namespace sockfilter::sys
