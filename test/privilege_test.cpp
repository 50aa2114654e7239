// Loading without privileges, in a forked child that drops them: EPERM with a message that says why.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "filters.hpp"
#include "skip.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

constexpr uid_t nobody = 65534;

// What the child saw, and how it ended.
struct ChildReport {
    int exit_status = -1;  // the child's exit code, or -1 when it did not exit normally
    std::string text;      // everything it wrote to the pipe
};

// Runs `body` in a forked child; the string it returns comes back through a pipe. The child never returns
// into Catch: it leaves with _exit (0 on success, 2 when dropping privileges failed).
ChildReport run_in_child(const std::function<bool()>& drop_privileges, const std::function<std::string()>& body) {
    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(pipe_fds[0]);
        if (!drop_privileges()) _exit(2);
        const std::string text = body();
        std::size_t written = 0;
        while (written < text.size()) {
            const ssize_t got = write(pipe_fds[1], text.data() + written, text.size() - written);
            if (got <= 0) _exit(3);
            written += static_cast<std::size_t>(got);
        }
        _exit(0);
    }
    close(pipe_fds[1]);
    ChildReport report;
    char chunk[512];
    for (;;) {
        const ssize_t got = read(pipe_fds[0], chunk, sizeof chunk);
        if (got <= 0) break;
        report.text.append(chunk, static_cast<std::size_t>(got));
    }
    close(pipe_fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status)) report.exit_status = WEXITSTATUS(status);
    return report;
}

bool become_nobody() {
    return setgroups(0, nullptr) == 0 && setresgid(nobody, nobody, nobody) == 0 &&
           setresuid(nobody, nobody, nobody) == 0 && geteuid() == nobody;
}

// Stays uid 0 but clears CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN from the effective and permitted sets.
bool drop_bpf_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    for (const unsigned cap : {unsigned{CAP_BPF}, unsigned{CAP_SYS_ADMIN}, unsigned{CAP_NET_ADMIN}, unsigned{CAP_PERFMON}}) {
        data[cap / 32].effective &= ~(1u << (cap % 32));
        data[cap / 32].permitted &= ~(1u << (cap % 32));
        data[cap / 32].inheritable &= ~(1u << (cap % 32));
    }
    if (syscall(SYS_capset, &header, data) != 0) return false;
    __user_cap_data_struct check[2]{};
    if (syscall(SYS_capget, &header, check) != 0) return false;
    return (check[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))) == 0 &&
           (check[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))) == 0 && getuid() == 0;
}

// "kind errno log-empty\nmessage" of a load attempt.
std::string try_load() {
    auto filter = SocketFilter::create("unprivileged", filters::pass);
    if (!filter) return "create failed\n" + filter.error().message();
    const auto load = filter->load();
    if (load) return "loaded\n";
    return std::string(to_string(load.error().kind())) + " " + std::to_string(load.error().code().value()) + " " +
           (load.error().verifier_log().empty() ? "nolog" : "log") + "\n" + load.error().message();
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::optional<int> unprivileged_bpf_disabled() {
    std::ifstream file("/proc/sys/kernel/unprivileged_bpf_disabled");
    int value = 0;
    if (!(file >> value)) return std::nullopt;
    return value;
}

std::string reason_to_skip() {
    if (getuid() != 0) return "needs root to fork a child that drops privileges";
    const auto disabled = unprivileged_bpf_disabled();
    if (!disabled) return "cannot read kernel.unprivileged_bpf_disabled";
    if (*disabled == 0) return "kernel.unprivileged_bpf_disabled is 0 here: unprivileged loads are allowed (not changed by tests)";
    return {};
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// try_load() in a child that gives up its privileges with `drop_privileges`: the load must be refused with
// EPERM and no verifier log, and the message must name CAP_BPF and kernel.unprivileged_bpf_disabled.
// Returns what the child wrote, for further checks.
std::string refused_load(const std::function<bool()>& drop_privileges) {
    const ChildReport report = run_in_child(drop_privileges, try_load);
    INFO("child wrote:\n" << report.text);
    REQUIRE(report.exit_status == 0);
    CHECK(first_line(report.text) == "PermissionDenied " + std::to_string(EPERM) + " nolog");
    CHECK(contains(report.text, "CAP_BPF"));
    CHECK(contains(report.text, "kernel.unprivileged_bpf_disabled"));
    return report.text;
}

}  // namespace

TEST_CASE("privilege load as nobody") {
    SKIP_UNLESS(reason_to_skip());
    const std::string text = refused_load(become_nobody);
    INFO("child wrote:\n" << text);
    CHECK(contains(text, "BPF_PROG_LOAD"));
    CHECK(contains(text, "EPERM"));

    // The same load in the parent, still root, succeeds: the child's failure was the privileges.
    CHECK(first_line(try_load()) == "loaded");
}

TEST_CASE("privilege load without CAP_BPF and CAP_SYS_ADMIN") {
    SKIP_UNLESS(reason_to_skip());
    SKIP_WITHOUT_FEATURE(cap_bpf);
    refused_load(drop_bpf_capabilities);
}

TEST_CASE("privilege walking programs and stats as nobody") {
    SKIP_UNLESS(reason_to_skip());
    SKIP_WITHOUT_FEATURE(enable_stats);
    const ChildReport report = run_in_child(become_nobody, [] {
        std::string out;
        const auto programs = loaded_programs();
        out += programs ? std::string("listed") : std::string(to_string(programs.error().kind()));
        out += "\n";
        const auto stats = enable_stats();
        out += stats ? std::string("enabled") : std::string(to_string(stats.error().kind()));
        out += "\n";
        if (!programs) out += programs.error().message() + "\n";
        if (!stats) out += stats.error().message() + "\n";
        return out;
    });
    INFO("child wrote:\n" << report.text);
    REQUIRE(report.exit_status == 0);
    CHECK(report.text.starts_with("PermissionDenied\nPermissionDenied\n"));
    CHECK(contains(report.text, "walking programs by id needs CAP_SYS_ADMIN"));
    CHECK(contains(report.text, "enabling statistics needs CAP_SYS_ADMIN"));
}
