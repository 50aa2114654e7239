// OwnedFd: the RAII owner of one kernel file descriptor of any kind (a pin's object, a stats handle, …).
#pragma once

#include "sockfilter/error.hpp"

namespace sockfilter {

/// Owns one file descriptor and closes it exactly once. Move-only; a moved-from or released OwnedFd holds
/// -1 and closes nothing. close(2) is never retried on EINTR (the fd is gone either way on Linux).
class OwnedFd final {
public:
    /// Holds no fd.
    constexpr OwnedFd() noexcept = default;
    /// Adopts `fd` (which may be -1 for none); the caller must not close it afterwards.
    constexpr explicit OwnedFd(int fd) noexcept : fd_(fd) {}
    OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
    OwnedFd& operator=(OwnedFd&& other) noexcept;
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    ~OwnedFd() { reset(); }

    /// The fd, still owned (borrow it; do not close it). -1 when empty.
    [[nodiscard]] constexpr int get() const noexcept { return fd_; }
    /// True when an fd is held.
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership: returns the fd (the caller now closes it) and leaves this empty.
    [[nodiscard]] constexpr int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    /// Closes the fd now (if any) and leaves this empty.
    void reset() noexcept;

    /// A second fd for the same open file: fcntl(F_DUPFD_CLOEXEC, 3), so never 0–2 and close-on-exec.
    /// Errors: EMFILE and the like as SyscallFailed; InvalidArgument on an empty OwnedFd.
    [[nodiscard]] Result<OwnedFd> try_clone() const;

private:
    int fd_ = -1;
};

}  // namespace sockfilter
