// The operating-system choke point: the only calls of syscall(__NR_bpf), setsockopt, close and friends.
#include "syscall.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace sockfilter::detail::os {

namespace {
long result_or_errno(long ret) noexcept { return ret < 0 ? -errno : ret; }
int result_or_errno(int ret) noexcept { return ret < 0 ? -errno : ret; }
}  // namespace

long bpf(int command, void* attr, unsigned int size) noexcept {
    return result_or_errno(::syscall(__NR_bpf, command, attr, size));
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept {
    return result_or_errno(::setsockopt(fd, level, name, value, length));
}

int close(int fd) noexcept { return result_or_errno(::close(fd)); }

int dup_cloexec(int fd, int lowest) noexcept { return result_or_errno(::fcntl(fd, F_DUPFD_CLOEXEC, lowest)); }

int open_read_only(const char* path) noexcept { return result_or_errno(::open(path, O_RDONLY | O_CLOEXEC)); }

long read(int fd, void* buffer, std::size_t size) noexcept { return result_or_errno(::read(fd, buffer, size)); }

int unlink(const char* path) noexcept { return result_or_errno(::unlink(path)); }

int set_memlock_limit(unsigned long long value) noexcept {
    const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    return result_or_errno(::setrlimit(RLIMIT_MEMLOCK, &limit));
}

}  // namespace sockfilter::detail::os
