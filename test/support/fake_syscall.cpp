// Test support: the library's OS choke point (lib/syscall.hpp) with failures on demand. Each function
// makes the real call unless the test armed a failure for it (see fake_syscall.hpp).
#include "fake_syscall.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "syscall.hpp"

// Under valgrind memcheck (tools/run-memcheck): valgrind 3.19 marks what bpf(2) wrote only when the call
// succeeds, so a verifier log written by a failed BPF_PROG_LOAD would read as uninitialised.
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SF_MARK_WRITTEN_BY_KERNEL(address, length) VALGRIND_MAKE_MEM_DEFINED((address), (length))
#else
#define SF_MARK_WRITTEN_BY_KERNEL(address, length) ((void)(address), (void)(length))
#endif

namespace sockfilter_test::fake {

namespace {

struct Armed {
    int command = -1;  // bpf command, or -1 for any
    int errno_value = 0;
    int skip = 0;
    int times = 0;

    // True when this call must fail (and counts it).
    bool take(int call_command) noexcept {
        if (times <= 0 || (command >= 0 && command != call_command)) return false;
        if (skip > 0) {
            --skip;
            return false;
        }
        --times;
        return true;
    }
};

// The generic control: the n-th counted call fails, once.
struct Nth {
    bool counting = false;
    unsigned calls = 0;
    int fail_at = 0;
    int errno_value = 0;
    int seen = 0;
    bool failed = false;
    std::vector<std::string> log;
};

struct State {
    Nth nth;
    Armed bpf;
    Armed dup;
    Armed mmap;
    Armed epoll_create;
    std::string_view failure_log;
    int land_command = -1;
    int land_fd = -1;
    std::array<int, 64> bpf_counts{};
    int dup_count = 0;
    int mmap_count = 0;
    int munmap_count = 0;
    std::string release;  // pretend_kernel_release(); empty: the real one
};

State& state() noexcept {
    static State instance;
    return instance;
}

}  // namespace

void fail_bpf(int command, int errno_value, int times, int skip) {
    state().bpf = Armed{command, errno_value, skip, times};
}

void log_on_failure(std::string_view text) { state().failure_log = text; }

void fail_dup(int errno_value, int times, int skip) { state().dup = Armed{-1, errno_value, skip, times}; }

void fail_mmap(int errno_value, int times, int skip) { state().mmap = Armed{-1, errno_value, skip, times}; }

void fail_epoll_create(int errno_value, int times, int skip) {
    state().epoll_create = Armed{-1, errno_value, skip, times};
}

void land_next_fd_on(int command, int low_fd) {
    state().land_command = command;
    state().land_fd = low_fd;
}

int bpf_calls(int command) {
    if (command < 0 || static_cast<std::size_t>(command) >= state().bpf_counts.size()) return 0;
    return state().bpf_counts[static_cast<std::size_t>(command)];
}

int dup_calls() { return state().dup_count; }

int mmap_calls() { return state().mmap_count; }

int munmap_calls() { return state().munmap_count; }

void fail_nth_call(int n, int errno_value, unsigned calls) {
    state().nth = Nth{.counting = true, .calls = calls, .fail_at = n, .errno_value = errno_value, .seen = 0,
                      .failed = false, .log = {}};
}

void disarm_nth_call() { state().nth.counting = false; }

int calls_seen() { return state().nth.seen; }

bool nth_call_failed() { return state().nth.failed; }

const std::vector<std::string>& calls_log() { return state().nth.log; }

void pretend_kernel_release(std::string release) { state().release = std::move(release); }

void reset() { state() = State{}; }

namespace {

std::string bpf_command_name(int command) {
    switch (command) {
    case BPF_MAP_CREATE: return "BPF_MAP_CREATE";
    case BPF_MAP_LOOKUP_ELEM: return "BPF_MAP_LOOKUP_ELEM";
    case BPF_MAP_UPDATE_ELEM: return "BPF_MAP_UPDATE_ELEM";
    case BPF_MAP_DELETE_ELEM: return "BPF_MAP_DELETE_ELEM";
    case BPF_MAP_GET_NEXT_KEY: return "BPF_MAP_GET_NEXT_KEY";
    case BPF_PROG_LOAD: return "BPF_PROG_LOAD";
    case BPF_OBJ_PIN: return "BPF_OBJ_PIN";
    case BPF_OBJ_GET: return "BPF_OBJ_GET";
    case BPF_PROG_TEST_RUN: return "BPF_PROG_TEST_RUN";
    case BPF_PROG_GET_NEXT_ID: return "BPF_PROG_GET_NEXT_ID";
    case BPF_MAP_GET_NEXT_ID: return "BPF_MAP_GET_NEXT_ID";
    case BPF_PROG_GET_FD_BY_ID: return "BPF_PROG_GET_FD_BY_ID";
    case BPF_MAP_GET_FD_BY_ID: return "BPF_MAP_GET_FD_BY_ID";
    case BPF_OBJ_GET_INFO_BY_FD: return "BPF_OBJ_GET_INFO_BY_FD";
    case BPF_BTF_LOAD: return "BPF_BTF_LOAD";
    case BPF_MAP_FREEZE: return "BPF_MAP_FREEZE";
    case BPF_ENABLE_STATS: return "BPF_ENABLE_STATS";
    default: return "command " + std::to_string(command);
    }
}

std::string socket_option_name(int option) {
    switch (option) {
    case SO_ATTACH_BPF: return "SO_ATTACH_BPF";
    case SO_DETACH_BPF: return "SO_DETACH_BPF";
    case SO_ATTACH_REUSEPORT_EBPF: return "SO_ATTACH_REUSEPORT_EBPF";
    case SO_DETACH_REUSEPORT_BPF: return "SO_DETACH_REUSEPORT_BPF";
    default: return "option " + std::to_string(option);
    }
}

// A path as the table shows it: fdinfo files without their fd number, other files by their base name.
std::string path_name(const char* path) {
    const std::string_view text(path);
    if (text.starts_with("/proc/self/fdinfo/")) return "/proc/self/fdinfo/N";
    if (text.starts_with("/sys/")) return std::string(text);
    const auto slash = text.rfind('/');
    return std::string(slash == std::string_view::npos ? text : text.substr(slash + 1));
}

}  // namespace

// The generic control's check, made first by every fake OS function: 0 to go on, or -errno to fail with.
// `name` makes the call's name for calls_log().
template <typename Name>
int nth_call(Call call, Name name) {
    Nth& nth = state().nth;
    if (!nth.counting || (nth.calls & call) == 0) return 0;
    ++nth.seen;
    nth.log.push_back(name());
    if (nth.failed || nth.seen != nth.fail_at) return 0;
    nth.failed = true;
    return -nth.errno_value;
}

}  // namespace sockfilter_test::fake

namespace sockfilter::detail::os {

namespace {
long result_or_errno(long ret) noexcept { return ret < 0 ? -errno : ret; }
int result_or_errno(int ret) noexcept { return ret < 0 ? -errno : ret; }

namespace fake = sockfilter_test::fake;
}  // namespace

long bpf(int command, void* attr, unsigned int size) noexcept {
    if (const int injected = fake::nth_call(fake::Bpf, [&] { return "bpf(" + fake::bpf_command_name(command) + ")"; })) {
        return injected;
    }
    auto& fake = sockfilter_test::fake::state();
    if (command >= 0 && static_cast<std::size_t>(command) < fake.bpf_counts.size()) {
        ++fake.bpf_counts[static_cast<std::size_t>(command)];
    }
    if (fake.bpf.take(command)) {
        if (command == BPF_PROG_LOAD && !fake.failure_log.empty()) {
            const auto* load = static_cast<const bpf_attr*>(attr);
            if (load->log_size > 0 && load->log_buf != 0) {
                char* log = reinterpret_cast<char*>(static_cast<std::uintptr_t>(load->log_buf));
                const std::size_t length = std::min<std::size_t>(fake.failure_log.size(), load->log_size - 1);
                std::memcpy(log, fake.failure_log.data(), length);
                log[length] = '\0';
            }
        }
        return -fake.bpf.errno_value;
    }
    const long ret = result_or_errno(::syscall(__NR_bpf, command, attr, size));
    if (ret < 0 && command == BPF_PROG_LOAD) {
        const auto* load = static_cast<const bpf_attr*>(attr);
        if (load->log_size > 0 && load->log_buf != 0) {
            SF_MARK_WRITTEN_BY_KERNEL(reinterpret_cast<char*>(static_cast<std::uintptr_t>(load->log_buf)), load->log_size);
        }
    }
    if (ret >= 3 && fake.land_command == command && fake.land_fd >= 0) {
        const int low = fake.land_fd;
        fake.land_command = -1;
        fake.land_fd = -1;
        if (::dup3(static_cast<int>(ret), low, O_CLOEXEC) < 0) {
            const int error = errno;
            ::close(static_cast<int>(ret));
            return -error;
        }
        ::close(static_cast<int>(ret));
        return low;
    }
    return ret;
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept {
    if (const int injected = fake::nth_call(fake::Setsockopt, [&] { return "setsockopt(" + fake::socket_option_name(name) + ")"; })) {
        return injected;
    }
    return result_or_errno(::setsockopt(fd, level, name, value, length));
}

int close(int fd) noexcept {
    const int injected = fake::nth_call(fake::Close, [] { return std::string("close"); });
    const int ret = result_or_errno(::close(fd));  // released either way, as Linux does
    return injected != 0 ? injected : ret;
}

int dup_cloexec(int fd, int lowest) noexcept {
    if (const int injected = fake::nth_call(fake::Dup, [] { return std::string("fcntl(F_DUPFD_CLOEXEC)"); })) return injected;
    auto& fake = sockfilter_test::fake::state();
    ++fake.dup_count;
    if (fake.dup.take(-1)) return -fake.dup.errno_value;
    return result_or_errno(::fcntl(fd, F_DUPFD_CLOEXEC, lowest));
}

int open_read_only(const char* path) noexcept {
    if (const int injected = fake::nth_call(fake::Open, [&] { return "open(" + fake::path_name(path) + ")"; })) return injected;
    return result_or_errno(::open(path, O_RDONLY | O_CLOEXEC));
}

long read(int fd, void* buffer, std::size_t size) noexcept {
    if (const int injected = fake::nth_call(fake::Read, [] { return std::string("read"); })) return injected;
    return result_or_errno(::read(fd, buffer, size));
}

int unlink(const char* path) noexcept {
    if (const int injected = fake::nth_call(fake::Unlink, [&] { return "unlink(" + fake::path_name(path) + ")"; })) {
        return injected;
    }
    return result_or_errno(::unlink(path));
}

long page_size() noexcept { return ::sysconf(_SC_PAGESIZE); }

int mmap_shared(int fd, std::size_t length, int protection, long offset, void** address) noexcept {
    if (const int injected = fake::nth_call(fake::Mmap, [] { return std::string("mmap"); })) return injected;
    auto& fake = sockfilter_test::fake::state();
    ++fake.mmap_count;
    if (fake.mmap.take(-1)) return -fake.mmap.errno_value;
    void* mapped = ::mmap(nullptr, length, protection, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (mapped == MAP_FAILED) return -errno;
    *address = mapped;
    return 0;
}

int munmap(void* address, std::size_t length) noexcept {
    ++sockfilter_test::fake::state().munmap_count;
    const int injected = fake::nth_call(fake::Munmap, [] { return std::string("munmap"); });
    const int ret = result_or_errno(::munmap(address, length));  // unmapped either way
    return injected != 0 ? injected : ret;
}

int epoll_create_cloexec() noexcept {
    if (const int injected = fake::nth_call(fake::EpollCreate, [] { return std::string("epoll_create1"); })) return injected;
    auto& fake = sockfilter_test::fake::state();
    if (fake.epoll_create.take(-1)) return -fake.epoll_create.errno_value;
    return result_or_errno(::epoll_create1(EPOLL_CLOEXEC));
}

int epoll_add(int epoll_fd, int fd, unsigned int events) noexcept {
    if (const int injected = fake::nth_call(fake::EpollAdd, [] { return std::string("epoll_ctl(ADD)"); })) return injected;
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    return result_or_errno(::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event));
}

int epoll_wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) noexcept {
    if (const int injected = fake::nth_call(fake::EpollWait, [] { return std::string("epoll_wait"); })) return injected;
    return result_or_errno(::epoll_wait(epoll_fd, events, max_events, timeout_ms));
}

int kernel_release(char* buffer, std::size_t size) noexcept {
    const std::string& pretended = sockfilter_test::fake::state().release;
    utsname name{};
    if (pretended.empty() && ::uname(&name) != 0) return -errno;
    if (size > 0) std::snprintf(buffer, size, "%s", pretended.empty() ? name.release : pretended.c_str());
    return 0;
}

int set_memlock_limit(unsigned long long value) noexcept {
    if (const int injected = fake::nth_call(fake::Memlock, [] { return std::string("setrlimit(RLIMIT_MEMLOCK)"); })) {
        return injected;
    }
    const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    return result_or_errno(::setrlimit(RLIMIT_MEMLOCK, &limit));
}

}  // namespace sockfilter::detail::os
