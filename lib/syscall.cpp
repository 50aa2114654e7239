// The operating-system choke point: the only calls of syscall(__NR_bpf), setsockopt, close, mmap, epoll and
// friends.
#include "syscall.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

long page_size() noexcept { return ::sysconf(_SC_PAGESIZE); }

int mmap_shared(int fd, std::size_t length, int protection, long offset, void** address) noexcept {
    void* mapped = ::mmap(nullptr, length, protection, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (mapped == MAP_FAILED) return -errno;
    *address = mapped;
    return 0;
}

int munmap(void* address, std::size_t length) noexcept { return result_or_errno(::munmap(address, length)); }

int epoll_create_cloexec() noexcept { return result_or_errno(::epoll_create1(EPOLL_CLOEXEC)); }

int epoll_add(int epoll_fd, int fd, unsigned int events) noexcept {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    return result_or_errno(::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event));
}

int epoll_wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) noexcept {
    return result_or_errno(::epoll_wait(epoll_fd, events, max_events, timeout_ms));
}

int set_memlock_limit(unsigned long long value) noexcept {
    const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    return result_or_errno(::setrlimit(RLIMIT_MEMLOCK, &limit));
}

int kernel_release(char* buffer, std::size_t size) noexcept {
    utsname name{};
    if (::uname(&name) != 0) return -errno;
    if (size == 0) return 0;
    const std::size_t length = ::strnlen(name.release, std::min(size - 1, sizeof name.release));
    std::memcpy(buffer, name.release, length);
    buffer[length] = '\0';
    return 0;
}

}  // namespace sockfilter::detail::os
