// Program: the lifecycle shared by SocketFilter and ReusePortSocketFilter (load, pin, info, test run).
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/load_options.hpp"
#include "sockfilter/owned_fd.hpp"
#include "sockfilter/program_fd.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/test_run.hpp"

namespace sockfilter {

class Object;

namespace detail {
/// What a program taken out of an Object carries besides its instructions: the map fds its ld_imm64
/// instructions name (kept open while the program lives, so it can be loaded after the Object is gone)
/// and the BTF func/line info for its load.
struct ProgramResources {
    std::vector<OwnedFd> map_fds;
    OwnedFd btf_fd;
    std::vector<std::byte> func_info;
    std::uint32_t func_info_record_size = 0;
    std::vector<std::byte> line_info;
    std::uint32_t line_info_record_size = 0;
};
}  // namespace detail

/// A BPF_PROG_TYPE_SOCKET_FILTER program: instructions until load(), then a ProgramFd. Not used on its
/// own: SocketFilter and ReusePortSocketFilter add the attach/detach of their slot. Move-only.
/// Destroying it closes the fd but never detaches and never unpins: the kernel keeps the program while a
/// socket or a pin refers to it.
class Program {
public:
    /// The kernel program type of every sockfilter program.
    static constexpr bpf_prog_type PROGRAM_TYPE = BPF_PROG_TYPE_SOCKET_FILTER;

    /// BPF_PROG_LOAD (Linux 3.19). Needs CAP_BPF (5.8+) or CAP_SYS_ADMIN, or
    /// kernel.unprivileged_bpf_disabled = 0. One syscall on success; after a failure, a second load with a
    /// verifier log (see LoadOptions), attached to the Error, which keeps the first errno.
    /// Errors: AlreadyLoaded; InvalidArgument (no instructions, log buffer under 128 bytes);
    /// VerifierRejected (with the log); PermissionDenied; TooBig; …
    [[nodiscard]] Result<void> load(const LoadOptions& options = {});

    /// Closes this object's program fd. The kernel keeps the program while it is attached or pinned.
    /// Errors: NotLoaded when there is no fd (never loaded, or unloaded already).
    [[nodiscard]] Result<void> unload();

    /// True between a successful load() (or from_pin()) and unload().
    [[nodiscard]] bool is_loaded() const noexcept { return static_cast<bool>(fd_); }

    /// The program fd, borrowed. Errors: NotLoaded.
    [[nodiscard]] Result<std::reference_wrapper<const ProgramFd>> fd() const;

    /// BPF_OBJ_PIN (Linux 4.4): pins the program at `path`, a new file on a bpffs. A relative path is
    /// resolved against the working directory now, and the absolute path is pinned and recorded for
    /// unpin() (only once the pin exists). Errors: NotLoaded; InvalidArgument (empty path, NUL inside,
    /// 4096 bytes or longer, also once resolved; a component over 255 bytes); PermissionDenied (not on
    /// bpffs, or '.' in the name); AlreadyExists (anything at the path, a symbolic link included, or this
    /// object already holds a pin: unpin() it first); NotFound (parent missing; working directory removed).
    [[nodiscard]] Result<void> pin(std::string_view path);

    /// Removes the pin this object made (unlink). Pins made by others are never touched.
    /// Errors: NotFound when this object holds no pin; the unlink errno otherwise (the pin is then kept).
    [[nodiscard]] Result<void> unpin();

    /// The absolute path of this object's pin, if it made one.
    [[nodiscard]] std::optional<std::string_view> pinned_path() const noexcept;

    /// The kernel's view of the program (BPF_OBJ_GET_INFO_BY_FD, Linux 4.13). Errors: NotLoaded; kernel errno.
    [[nodiscard]] Result<ProgramInfo> info() const;

    /// BPF_PROG_TEST_RUN (Linux 4.16 for socket filters): runs the program on `options.data_in` without a
    /// socket. Errors: NotLoaded; InvalidArgument (frame under 14 bytes or over a page minus the kernel's
    /// reserve, 3,712 bytes with 4 KiB pages on x86-64; bad ctx; flags); NoSpace with
    /// Error::sizes_needed() when data_out/ctx_out is too small.
    [[nodiscard]] Result<TestRunResult> test_run(const TestRunOptions& options) const;

    /// The name given at construction (or read from the kernel for from_pin()).
    [[nodiscard]] std::string_view name() const noexcept { return name_.data(); }
    /// The instructions given at construction; empty for a program opened from a pin.
    [[nodiscard]] std::span<const Insn> instructions() const noexcept { return instructions_; }
    /// The license string given at construction.
    [[nodiscard]] std::string_view license() const noexcept { return license_; }

    Program(Program&&) noexcept = default;
    Program& operator=(Program&&) noexcept = default;
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;
    ~Program() = default;

protected:
    Program() = default;

    /// Validates the name (at most 15 of [A-Za-z0-9_.]), the instructions (1 or more) and the license
    /// (no NUL) and copies them. Errors: InvalidArgument naming what was wrong.
    [[nodiscard]] static Result<Program> make(std::string_view name, std::span<const Insn> instructions,
                                              std::string_view license);
    /// BPF_OBJ_GET on `path` with a check that a socket filter program is pinned there.
    [[nodiscard]] static Result<Program> open_pin(std::string_view path);
    /// The program fd (borrowed) for `operation`, or NotLoaded naming that operation.
    [[nodiscard]] Result<int> loaded_fd(const char* operation) const;

private:
    friend class Object;

    std::array<char, BPF_OBJ_NAME_LEN> name_{};  // NUL-terminated: at most 15 characters
    std::vector<Insn> instructions_;
    std::string license_;
    ProgramFd fd_;
    std::string pin_path_;
    detail::ProgramResources resources_;
};

/// Raises RLIMIT_MEMLOCK (soft and hard) to `bytes` (default: unlimited). Kernels before 5.11 charge
/// program and map memory against it and fail loads with EPERM when it is low; 5.11+ do not need this.
/// A process-wide change: sockfilter never calls it on its own. Needs CAP_SYS_RESOURCE to raise the hard
/// limit. Errors: PermissionDenied.
[[nodiscard]] Result<void> raise_memlock_limit(unsigned long long bytes = ~0ULL);

}  // namespace sockfilter
