// ProgramFd: the owned fd of a loaded BPF program.
#pragma once

#include "sockfilter/error.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter {

/// Owns the fd of one loaded BPF program (from BPF_PROG_LOAD, BPF_OBJ_GET or BPF_PROG_GET_FD_BY_ID).
/// Move-only; closes on destruction. Closing does not detach the program from sockets and does not remove
/// a pin: the kernel frees the program when its last reference (fd, socket, pin) goes.
/// Fds handed out by sockfilter are close-on-exec and never 0, 1 or 2.
class ProgramFd final {
public:
    /// Holds no fd.
    constexpr ProgramFd() noexcept = default;
    /// Adopts `fd`, which must refer to a BPF program (not checked); the caller must not close it.
    constexpr explicit ProgramFd(int fd) noexcept : fd_(fd) {}
    /// Adopts the fd held by `fd`.
    explicit ProgramFd(OwnedFd fd) noexcept : fd_(std::move(fd)) {}

    /// The fd, still owned. -1 when empty.
    [[nodiscard]] constexpr int get() const noexcept { return fd_.get(); }
    /// True when an fd is held.
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
    /// Gives up ownership: returns the fd (the caller now closes it) and leaves this empty.
    [[nodiscard]] constexpr int release() noexcept { return fd_.release(); }
    /// A second fd for the same program via fcntl(F_DUPFD_CLOEXEC, 3): close-on-exec, never below 3.
    /// Errors: EMFILE and the like (SyscallFailed); InvalidArgument on an empty ProgramFd.
    [[nodiscard]] Result<ProgramFd> try_clone() const;

private:
    OwnedFd fd_;
};

}  // namespace sockfilter
