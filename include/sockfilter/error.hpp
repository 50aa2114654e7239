// Errors: what failed, the errno the kernel gave, a kind to branch on, and a readable message.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sockfilter {

/// The category of a failure, for callers that branch on it. The errno (Error::code()) keeps the detail.
enum class ErrorKind : std::uint8_t {
    NotLoaded,              ///< the program has no kernel fd yet (load() it first) or was unloaded
    AlreadyLoaded,          ///< load() on a program that already holds a kernel fd
    UnexpectedProgramType,  ///< the fd or pin is not a BPF program of the type asked for
    UnexpectedMapType,      ///< the fd or pin is not a BPF map, or a map of another type than a typed view needs
    InvalidArgument,        ///< the caller's input was refused (by us, or EINVAL from the kernel)
    VerifierRejected,       ///< BPF_PROG_LOAD failed and the verifier log says why
    PermissionDenied,       ///< EPERM/EACCES: privileges, sysctl, locked socket or a path not on bpffs
    NotFound,               ///< ENOENT: no such pin, id or attached filter
    AlreadyExists,          ///< EEXIST: the pin path is taken
    NoSpace,                ///< ENOSPC: an output buffer was too small (see Error::sizes_needed())
    TooBig,                 ///< E2BIG: too many instructions, or a structure larger than the kernel knows
    NotSupported,           ///< the running kernel lacks the feature (EOPNOTSUPP, ENOTSUPP, ENOSYS)
    SyscallFailed,          ///< any other errno
};

/// The name of a kind, e.g. "VerifierRejected".
[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;

/// Sizes the kernel reported as needed when an output buffer was too small (ENOSPC).
struct SizesNeeded {
    std::optional<std::uint32_t> data;  ///< BPF_PROG_TEST_RUN: data_size_out the kernel needed
    std::optional<std::uint32_t> ctx;   ///< BPF_PROG_TEST_RUN: ctx_size_out the kernel needed
    std::optional<std::uint32_t> log;   ///< BPF_PROG_LOAD: log_true_size (Linux 6.4+)
};

/// A failed operation. Cheap to move; owns its strings. Never thrown by sockfilter: every fallible call
/// returns Result<T>.
class Error final {
public:
    /// An error for `operation` (a static string such as "BPF_PROG_LOAD" or "SO_ATTACH_BPF"), with an
    /// errno value (0 when the failure was found by sockfilter before any syscall) and an explanation.
    Error(ErrorKind kind, const char* operation, int errno_value, std::string detail = {});

    /// An error whose kind is derived from the errno (EPERM → PermissionDenied, ENOENT → NotFound, …).
    [[nodiscard]] static Error from_errno(const char* operation, int errno_value, std::string detail = {});

    [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
    /// The operation that failed: a bpf(2) command ("BPF_OBJ_PIN"), a socket option ("SO_DETACH_BPF")
    /// or a sockfilter step ("program name").
    [[nodiscard]] std::string_view operation() const noexcept { return operation_; }
    /// The errno as a std::error_code (generic category); value 0 when no syscall failed.
    [[nodiscard]] std::error_code code() const noexcept;
    /// What sockfilter knows about this failure beyond the errno (may be empty).
    [[nodiscard]] std::string_view detail() const noexcept { return detail_; }
    /// The verifier log captured after a failed load (empty when there is none).
    [[nodiscard]] std::string_view verifier_log() const noexcept { return log_; }
    /// True when the verifier log did not fit the buffer and was cut.
    [[nodiscard]] bool verifier_log_truncated() const noexcept { return log_truncated_; }
    /// Sizes the kernel needed, after ENOSPC.
    [[nodiscard]] const SizesNeeded& sizes_needed() const noexcept { return sizes_; }

    /// One readable paragraph: operation, errno name and text, detail, a hint at the usual cause where one
    /// is known, and the tail of the verifier log. Non-UTF-8 bytes in the log are shown as '?'.
    [[nodiscard]] std::string message() const;

    // Builders used by the library while an error travels up.
    Error& with_detail(std::string detail);
    Error& with_log(std::string_view log, bool truncated);
    Error& with_sizes(SizesNeeded sizes) noexcept;
    Error& with_kind(ErrorKind kind) noexcept;

private:
    ErrorKind kind_;
    const char* operation_;
    int errno_;
    bool log_truncated_ = false;
    SizesNeeded sizes_{};
    std::string detail_;
    std::string log_;
};

/// The result of every fallible sockfilter call.
template <typename T>
using Result = std::expected<T, Error>;

/// Shorthand for returning an error: `return fail(ErrorKind::NotLoaded, "attach", 0, "…");`.
[[nodiscard]] inline std::unexpected<Error> fail(ErrorKind kind, const char* operation, int errno_value,
                                                 std::string detail = {}) {
    return std::unexpected<Error>(std::in_place, kind, operation, errno_value, std::move(detail));
}

}  // namespace sockfilter
