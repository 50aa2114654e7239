// Private: the one place sockfilter calls the operating system. Every function returns the result or
// -errno, so errno is never read anywhere else. Test builds link test/support/fake_syscall.cpp instead of
// lib/syscall.cpp to make calls fail on demand.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace sockfilter::detail::os {

/// bpf(2): the return value (an fd, an id or 0) or -errno.
long bpf(int command, void* attr, unsigned int size) noexcept;
/// setsockopt(2): 0 or -errno.
int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept;
/// close(2): 0 or -errno (the fd is released either way).
int close(int fd) noexcept;
/// fcntl(fd, F_DUPFD_CLOEXEC, lowest): the new fd or -errno.
int dup_cloexec(int fd, int lowest) noexcept;
/// open(path, O_RDONLY | O_CLOEXEC): an fd or -errno.
int open_read_only(const char* path) noexcept;
/// read(2): bytes read or -errno.
long read(int fd, void* buffer, std::size_t size) noexcept;
/// unlink(2): 0 or -errno.
int unlink(const char* path) noexcept;
/// getcwd(3) into `buffer` (NUL-terminated): the path's length or -errno. Inline, in real and fake builds
/// alike: no test fails it on demand (only pin() of a relative path calls it).
inline long current_directory(char* buffer, std::size_t size) noexcept {
    if (::getcwd(buffer, size) == nullptr) return -errno;
    return static_cast<long>(std::strlen(buffer));
}
/// stat(2) of `path` (following symlinks): its S_IFMT bits or -errno. Inline like current_directory (only
/// the message of a failed from_pin calls it).
inline int file_type(const char* path) noexcept {
    struct stat status {};
    if (::stat(path, &status) != 0) return -errno;
    return static_cast<int>(status.st_mode & S_IFMT);
}
/// sysconf(_SC_PAGESIZE): the page size in bytes (never fails on Linux).
long page_size() noexcept;
/// mmap(nullptr, length, protection, MAP_SHARED, fd, offset): 0 with the address in `address`, or -errno.
int mmap_shared(int fd, std::size_t length, int protection, long offset, void** address) noexcept;
/// munmap(2): 0 or -errno.
int munmap(void* address, std::size_t length) noexcept;
/// epoll_create1(EPOLL_CLOEXEC): an fd or -errno.
int epoll_create_cloexec() noexcept;
/// epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, {events, data.fd = fd}): 0 or -errno.
int epoll_add(int epoll_fd, int fd, unsigned int events) noexcept;
/// epoll_wait(2): the number of ready events (0 on timeout) or -errno.
int epoll_wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) noexcept;
/// setrlimit(RLIMIT_MEMLOCK, {value, value}) after reading the current limit: 0 or -errno.
int set_memlock_limit(unsigned long long value) noexcept;
/// uname(2)'s release ("6.1.0-57-cloud-amd64"), cut to fit and NUL-terminated in `buffer`: 0 or -errno.
int kernel_release(char* buffer, std::size_t size) noexcept;

}  // namespace sockfilter::detail::os
