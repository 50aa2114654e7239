// ProgramInfo: what the kernel tells about a loaded program (BPF_OBJ_GET_INFO_BY_FD), as typed values.
#pragma once

#include <linux/bpf.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/program_fd.hpp"

namespace sockfilter {

/// A snapshot of `struct bpf_prog_info` for one program (Linux 4.13+). Fields the running kernel does not
/// fill (it returns a shorter struct) read as std::nullopt, never as a made-up 0. Reading the jited and
/// translated sizes needs CAP_BPF/CAP_SYS_ADMIN; without it the kernel reports 0.
class ProgramInfo final {
public:
    /// Reads the info of the program behind `program` (borrowed): a read of /proc/self/fdinfo (the kind of
    /// object, and memory_locked()), one BPF_OBJ_GET_INFO_BY_FD, and a second one for map ids if the
    /// program uses maps. Errors: UnexpectedProgramType for a map or link fd; EBADF (EBADFD on recent
    /// kernels) for a closed fd and EINVAL for an fd that is no BPF object, as SyscallFailed/InvalidArgument;
    /// operation "fdinfo" when /proc/self/fdinfo exists but cannot be read (without /proc the check is skipped).
    [[nodiscard]] static Result<ProgramInfo> from_fd(const ProgramFd& program);
    /// As from_fd, for a raw borrowed fd.
    [[nodiscard]] static Result<ProgramInfo> from_fd(int program_fd);
    /// The info of the program pinned at `path` (BPF_OBJ_GET; the fd is closed afterwards).
    /// Errors: as SocketFilter::from_pin, but any program type is accepted; a map or link is
    /// UnexpectedProgramType.
    [[nodiscard]] static Result<ProgramInfo> from_pin(std::string_view path);

    /// Kernel-wide program id (4.13).
    [[nodiscard]] std::uint32_t id() const noexcept { return info_.id; }
    /// enum bpf_prog_type (4.13).
    [[nodiscard]] bpf_prog_type program_type() const noexcept { return static_cast<bpf_prog_type>(info_.type); }
    /// The 8-byte program tag: a hash of the instructions, as bpftool shows it (4.13).
    [[nodiscard]] std::array<std::uint8_t, BPF_TAG_SIZE> tag() const noexcept;
    /// The tag as 16 lower-case hex digits.
    [[nodiscard]] std::string tag_hex() const;
    /// The program name given at load (4.15); nullopt on older kernels.
    [[nodiscard]] std::optional<std::string_view> name() const noexcept;
    /// Bytes of JIT-compiled code (4.13); 0 without JIT or without CAP_BPF.
    [[nodiscard]] std::uint32_t size_jitted() const noexcept { return info_.jited_prog_len; }
    /// Bytes of translated (post-verifier) instructions (4.13); 0 without CAP_BPF.
    [[nodiscard]] std::uint32_t size_translated() const noexcept { return info_.xlated_prog_len; }
    /// Wall-clock time of the load (4.15): CLOCK_BOOTTIME load time shifted to CLOCK_REALTIME.
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> loaded_at() const noexcept;
    /// Uid of the loading process (4.15).
    [[nodiscard]] std::optional<std::uint32_t> created_by_uid() const noexcept;
    /// Ids of the maps the program uses (4.15), in the kernel's order.
    [[nodiscard]] const std::vector<std::uint32_t>& map_ids() const noexcept { return map_ids_; }
    /// Offload device ifindex (4.16); 0 when not offloaded.
    [[nodiscard]] std::optional<std::uint32_t> ifindex() const noexcept;
    /// True when the license is GPL-compatible (5.1).
    [[nodiscard]] std::optional<bool> gpl_compatible() const noexcept;
    /// Id of the program's BTF object; nullopt if the kernel lacks the field (5.0) or no BTF was loaded.
    [[nodiscard]] std::optional<std::uint32_t> btf_id() const noexcept;
    /// Number of func_info / line_info records loaded with the program's BTF (5.0).
    [[nodiscard]] std::optional<std::uint32_t> func_info_count() const noexcept;
    [[nodiscard]] std::optional<std::uint32_t> line_info_count() const noexcept;
    /// Number of JIT-compiled functions (4.18): 1 plus its subprograms.
    [[nodiscard]] std::optional<std::uint32_t> jited_function_count() const noexcept;
    /// Total run time while statistics are enabled (5.1; see enable_stats()).
    [[nodiscard]] std::optional<std::chrono::nanoseconds> run_time() const noexcept;
    /// Number of runs while statistics are enabled (5.1; see enable_stats()).
    [[nodiscard]] std::optional<std::uint64_t> run_count() const noexcept;
    /// Runs skipped because the program was already running on that CPU (5.12).
    [[nodiscard]] std::optional<std::uint64_t> recursion_misses() const noexcept;
    /// Instructions the verifier processed (5.16).
    [[nodiscard]] std::optional<std::uint32_t> verified_instruction_count() const noexcept;
    /// BTF object and type the program attaches to (6.0); 0 for socket filters.
    [[nodiscard]] std::optional<std::uint32_t> attach_btf_object_id() const noexcept;
    [[nodiscard]] std::optional<std::uint32_t> attach_btf_id() const noexcept;
    /// Bytes charged for the program ("memlock" in /proc/self/fdinfo); nullopt when /proc is unavailable.
    [[nodiscard]] std::optional<std::uint64_t> memory_locked() const noexcept { return memory_locked_; }
    /// Bytes of bpf_prog_info the kernel filled: tells which fields this kernel knows.
    [[nodiscard]] std::uint32_t info_size() const noexcept { return info_size_; }

    /// Opens a new fd for this program by id (BPF_PROG_GET_FD_BY_ID, CAP_SYS_ADMIN).
    /// Errors: NotFound when the program has been unloaded since.
    [[nodiscard]] Result<ProgramFd> fd() const;

    /// The raw struct as the kernel filled it (array pointers cleared).
    [[nodiscard]] const bpf_prog_info& raw() const noexcept { return info_; }

private:
    ProgramInfo() = default;
    [[nodiscard]] bool has(std::size_t field_end) const noexcept { return info_size_ >= field_end; }

    bpf_prog_info info_{};
    std::uint32_t info_size_ = 0;
    std::vector<std::uint32_t> map_ids_;
    std::optional<std::uint64_t> memory_locked_;
    std::chrono::nanoseconds boot_to_realtime_{0};
};

/// Every program loaded in the kernel, walking ids with BPF_PROG_GET_NEXT_ID and BPF_PROG_GET_FD_BY_ID
/// (Linux 4.13, CAP_SYS_ADMIN). Programs unloaded during the walk are skipped.
/// Errors: PermissionDenied without CAP_SYS_ADMIN.
[[nodiscard]] Result<std::vector<ProgramInfo>> loaded_programs();

}  // namespace sockfilter
