// MapFd: the owned fd of a BPF map.
#pragma once

#include <utility>

#include "sockfilter/error.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter {

/// Owns the fd of one BPF map (from BPF_MAP_CREATE, BPF_OBJ_GET or BPF_MAP_GET_FD_BY_ID). Move-only;
/// closes on destruction. Closing does not free a map that a program, a pin or another fd still holds.
/// Fds handed out by sockfilter are close-on-exec and never 0, 1 or 2.
class MapFd final {
public:
    /// Holds no fd.
    constexpr MapFd() noexcept = default;
    /// Adopts `fd`, which must refer to a BPF map (not checked); the caller must not close it.
    constexpr explicit MapFd(int fd) noexcept : fd_(fd) {}
    /// Adopts the fd held by `fd`.
    explicit MapFd(OwnedFd fd) noexcept : fd_(std::move(fd)) {}

    /// The fd, still owned. -1 when empty.
    [[nodiscard]] constexpr int get() const noexcept { return fd_.get(); }
    /// True when an fd is held.
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
    /// Gives up ownership: returns the fd (the caller now closes it) and leaves this empty.
    [[nodiscard]] constexpr int release() noexcept { return fd_.release(); }
    /// A second fd for the same map via fcntl(F_DUPFD_CLOEXEC, 3): close-on-exec, never below 3.
    /// Errors: EMFILE and the like (SyscallFailed); InvalidArgument on an empty MapFd.
    [[nodiscard]] Result<MapFd> try_clone() const;

private:
    OwnedFd fd_;
};

}  // namespace sockfilter
