// The real OS layer (lib/syscall.cpp) against a kernel that refuses bpf(2): a forked child installs a
// seccomp filter (classic BPF, written by hand) returning SECCOMP_RET_ERRNO for bpf(2), then loads, pins,
// and creates a map. Each must fail with that errno, as a clear Error naming the command, with no fd left
// open. The parent checks the child's exit status, which names the first check that failed.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "fd_count.hpp"
#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

#if defined(__x86_64__)
constexpr unsigned this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned this_arch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned this_arch = 0;
#endif


// bpf(2) fails with `errno_value`; every other system call is allowed.
bool refuse_bpf(int errno_value) {
    const sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(errno_value) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    const sock_fprog program{static_cast<unsigned short>(std::size(code)), const_cast<sock_filter*>(code)};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
    return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0;
}

// An Error from `operation` with `errno_value` and a message.
template <typename T>
bool refused(const Result<T>& result, const char* operation, int errno_value) {
    return !result.has_value() && result.error().operation() == operation && result.error().code().value() == errno_value &&
           !result.error().message().empty();
}

// In the child: 0 when every check passed, else the number of the first that failed.
int child(int errno_value, const std::string& pin_path) {
    auto loaded_before = SocketFilter::create("seccomp_pin", filters::pass);
    if (!loaded_before || !loaded_before->load()) return 2;
    auto unloaded = SocketFilter::create("seccomp_load", filters::pass);
    if (!unloaded) return 3;
    const int fds = open_fd_count();
    if (!refuse_bpf(errno_value)) return 4;

    if (!refused(unloaded->load(), "BPF_PROG_LOAD", errno_value)) return 5;
    if (unloaded->is_loaded()) return 6;
    if (!refused(loaded_before->pin(pin_path), "BPF_OBJ_PIN", errno_value)) return 7;
    if (loaded_before->pinned_path().has_value() || access(pin_path.c_str(), F_OK) == 0) return 8;
    if (!refused(Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1}),
                 "BPF_MAP_CREATE", errno_value)) {
        return 9;
    }
    if (!refused(SocketFilter::from_pin(pin_path), "BPF_OBJ_GET", errno_value)) return 10;
    if (!refused(loaded_before->info(), "BPF_OBJ_GET_INFO_BY_FD", errno_value)) return 11;
    if (open_fd_count() != fds) return 12;
    return 0;
}

}  // namespace

TEST_CASE("seccomp bpf refused with each errno") {
    REQUIRE_FEATURE(object_names);
    if (this_arch == 0) {
        record_skip("no seccomp arch constant for this machine in the test");
        return;
    }
    const TempBpffs bpffs;
    for (const int errno_value : {ENOMEM, EINTR, EAGAIN, EPERM, EFAULT, EBADF, ENOSYS}) {
        INFO("bpf(2) refused with errno " << errno_value);
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) _exit(child(errno_value, bpffs / "seccomp"));
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);  // otherwise the number of the check that failed in child()
    }
}
