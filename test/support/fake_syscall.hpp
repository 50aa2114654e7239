// Test support: controls for the fake OS layer (fake_syscall.cpp), linked instead of lib/syscall.cpp into
// the error-path tests. Every call reaches the real kernel unless a failure is armed for it.
#pragma once

#include <string_view>

namespace sockfilter_test::fake {

/// Makes calls of bpf(`command`) fail with `errno_value` without reaching the kernel: `skip` matching calls
/// go through first, then the next `times` fail. Replaces any failure armed for bpf() before.
void fail_bpf(int command, int errno_value, int times = 1, int skip = 0);

/// While a BPF_PROG_LOAD failure armed with fail_bpf() is taken, writes `text` (cut to fit, NUL-terminated)
/// into the request's verifier log buffer, as the verifier would. `text` must outlive the armed failure.
void log_on_failure(std::string_view text);

/// The same for fcntl(F_DUPFD_CLOEXEC) (the library's dup_cloexec).
void fail_dup(int errno_value, int times = 1, int skip = 0);

/// The same for mmap (the library's mmap_shared): `skip` mappings succeed, then the next `times` fail.
void fail_mmap(int errno_value, int times = 1, int skip = 0);

/// The same for epoll_create1 (the library's epoll_create_cloexec).
void fail_epoll_create(int errno_value, int times = 1, int skip = 0);

/// The next successful bpf(`command`) that returns an fd hands it out as `low_fd` (0, 1 or 2) instead, as a
/// kernel would for a process with that standard stream closed: the real fd is moved there with dup3.
/// The caller must have saved whatever `low_fd` held and restore it afterwards.
void land_next_fd_on(int command, int low_fd);

/// Calls of bpf(`command`) seen since reset(), failed ones included.
int bpf_calls(int command);
/// Calls of dup_cloexec seen since reset().
int dup_calls();

/// Calls of mmap_shared seen since reset(), failed ones included.
int mmap_calls();
/// Calls of munmap seen since reset().
int munmap_calls();

/// Disarms everything and zeroes the counters.
void reset();

/// reset() on construction and destruction, so a failed REQUIRE leaves nothing armed for the next case.
struct Scope {
    Scope() { reset(); }
    ~Scope() { reset(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
};

}  // namespace sockfilter_test::fake
