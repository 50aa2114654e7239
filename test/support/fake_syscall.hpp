// Test support: controls for the fake OS layer (fake_syscall.cpp), linked instead of lib/syscall.cpp into
// the error-path tests. Every call reaches the real kernel unless a failure is armed for it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

/// The OS calls of the library's choke point (lib/syscall.hpp), as bits: the subset fail_nth_call() counts.
/// page_size() cannot fail and is never counted.
enum Call : unsigned {
    Bpf = 1U << 0,
    Setsockopt = 1U << 1,
    Close = 1U << 2,
    Dup = 1U << 3,          ///< dup_cloexec (fcntl F_DUPFD_CLOEXEC)
    Open = 1U << 4,         ///< open_read_only
    Read = 1U << 5,
    Unlink = 1U << 6,
    Mmap = 1U << 7,         ///< mmap_shared
    Munmap = 1U << 8,
    EpollCreate = 1U << 9,
    EpollAdd = 1U << 10,
    EpollWait = 1U << 11,
    Memlock = 1U << 12,     ///< set_memlock_limit
    AnyCall = (1U << 13) - 1,
};

/// From now on counts every OS call in `calls` and makes the `n`-th (1-based) fail with `errno_value`,
/// exactly once; the calls before and after it reach the kernel. A failing close() or munmap() still
/// releases the fd or the mapping first, as the real ones do (the errno is reported after the fact).
/// Independent of the per-command controls above (which are checked after it). Restarts calls_seen().
void fail_nth_call(int n, int errno_value, unsigned calls = AnyCall);
/// Stops counting and failing: later calls go through. What was seen so far is kept.
void disarm_nth_call();
/// Calls counted since fail_nth_call(), the failed one included.
int calls_seen();
/// True once the armed call has failed.
bool nth_call_failed();
/// The calls counted since fail_nth_call(), in order, named as "bpf(BPF_PROG_LOAD)", "close",
/// "open(/proc/self/fdinfo/N)", "setsockopt(SO_ATTACH_BPF)", …
const std::vector<std::string>& calls_log();

/// Makes the library's kernel_release() (uname) report `release`, e.g. "6.1.0"; empty: the real one.
/// The library reads it only to explain a failure, so this never changes what reaches the kernel.
void pretend_kernel_release(std::string release);

/// Disarms everything and zeroes the counters (and forgets a pretended kernel release).
void reset();

/// reset() on construction and destruction, so a failed REQUIRE leaves nothing armed for the next case.
struct Scope {
    Scope() { reset(); }
    ~Scope() { reset(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
};

}  // namespace sockfilter_test::fake
