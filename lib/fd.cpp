// OwnedFd, ProgramFd and MapFd: closing and cloning.
#include "sockfilter/map_fd.hpp"
#include "sockfilter/owned_fd.hpp"
#include "sockfilter/program_fd.hpp"
#include "syscall.hpp"

namespace sockfilter {

OwnedFd& OwnedFd::operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
        reset();
        fd_ = other.release();
    }
    return *this;
}

void OwnedFd::reset() noexcept {
    if (fd_ >= 0) static_cast<void>(detail::os::close(release()));
}

Result<OwnedFd> OwnedFd::try_clone() const {
    if (fd_ < 0) return fail(ErrorKind::InvalidArgument, "F_DUPFD_CLOEXEC", 0, "there is no fd to clone");
    const int fd = detail::os::dup_cloexec(fd_, 3);
    if (fd < 0) return std::unexpected(Error::from_errno("F_DUPFD_CLOEXEC", -fd));
    return OwnedFd(fd);
}

Result<ProgramFd> ProgramFd::try_clone() const {
    return Result<ProgramFd>(fd_.try_clone());
}

Result<MapFd> MapFd::try_clone() const {
    return Result<MapFd>(fd_.try_clone());
}

}  // namespace sockfilter
