// Private: the one place sockfilter calls the operating system. Every function returns the result or
// -errno, so errno is never read anywhere else. Test builds link test/support/fake_syscall.cpp instead of
// lib/syscall.cpp to make calls fail on demand.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

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
/// setrlimit(RLIMIT_MEMLOCK, {value, value}) after reading the current limit: 0 or -errno.
int set_memlock_limit(unsigned long long value) noexcept;

}  // namespace sockfilter::detail::os
