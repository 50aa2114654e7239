// Every operation without privileges, in a forked child that drops them: the kernel's errno with a message
// that names the missing capability or the sysctl, or success where the kernel needs no privilege. And, where
// kernel.unprivileged_bpf_disabled can be set to 0, an unprivileged socket filter that loads and filters.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/map_info.hpp"
#include "sockfilter/object.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/ring_buf.hpp"
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

namespace {

// "name|ok|" or "name|Kind errno|message" (the message on one line): one line of a child's report.
template <typename T>
std::string outcome(std::string_view name, const Result<T>& result) {
    std::string out(name);
    if (result) return out + "|ok|\n";
    std::string message = result.error().message();
    std::replace(message.begin(), message.end(), '\n', ' ');
    return out + "|" + std::string(to_string(result.error().kind())) + " " + std::to_string(result.error().code().value()) +
           "|" + message + "\n";
}

struct Outcome {
    std::string result;   // "ok" or "Kind errno"
    std::string message;  // the error's message
};

// The child's report, by operation name.
std::map<std::string, Outcome> parse_outcomes(const std::string& text) {
    std::map<std::string, Outcome> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string line = text.substr(start, end - start);
        const std::size_t first = line.find('|');
        const std::size_t second = line.find('|', first + 1);
        if (first != std::string::npos && second != std::string::npos) {
            out[line.substr(0, first)] = {line.substr(first + 1, second - first - 1), line.substr(second + 1)};
        }
        start = end + 1;
    }
    return out;
}

std::vector<std::byte> file_bytes(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    const std::vector<char> chars((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::transform(chars.begin(), chars.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
    return out;
}

// What the root parent prepares before the child drops its privileges: a loaded program, maps, their pins on
// a bpffs, an object's bytes and a socket; the child inherits the fds.
struct Prepared {
    TempBpffs bpffs;
    SocketFilter filter = loaded("priv_pass", filters::pass);
    SocketFilter unpinned = loaded("priv_unpinned", filters::pass);
    Map array = created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "priv_array"});
    Map ring = created_map({.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0, .value_size = 0, .max_entries = 4096, .name = "priv_ring"});
    std::vector<std::byte> object = file_bytes(object_path("proto_count"));
    Prepared() {
        REQUIRE_FALSE(object.empty());
        REQUIRE(filter.pin(bpffs / "prog").has_value());
        REQUIRE(array.pin(bpffs / "array").has_value());
    }
};

// Every public operation, in the child after it dropped its privileges.
std::string every_operation(Prepared& prepared) {
    std::string out;
    auto fresh = SocketFilter::create("priv_fresh", filters::pass);
    if (!fresh) return "create failed\n";
    out += outcome("load", fresh->load());
    out += outcome("map create", Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "priv_new"}));
    auto object = Object::from_bytes(prepared.object, "proto_count");
    out += outcome("object open", object);
    if (object) out += outcome("object load", object->load({.pin_directory = prepared.bpffs.path()}));
    out += outcome("loaded_programs", loaded_programs());
    out += outcome("loaded_maps", loaded_maps());
    out += outcome("enable_stats", enable_stats());

    // Operations on objects a privileged process made and handed over (inherited fds).
    const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    out += outcome("attach", prepared.filter.attach(udp));
    out += outcome("detach", SocketFilter::detach(udp));
    close(udp);
    std::array<std::byte, 64> frame{};
    out += outcome("test_run", prepared.filter.test_run({.data_in = frame}));
    const auto info = prepared.filter.info();
    out += outcome("info", info);
    if (info) out += outcome("info fd by id", info->fd());
    const std::uint32_t key = 0;
    std::uint64_t value = 7;
    out += outcome("map update", prepared.array.update(std::as_bytes(std::span(&key, 1)), std::as_bytes(std::span(&value, 1))));
    out += outcome("map lookup", prepared.array.lookup(std::as_bytes(std::span(&key, 1)), std::as_writable_bytes(std::span(&value, 1))));
    out += outcome("ring_buf", RingBuf::create(std::move(prepared.ring)));

    // Pins: the privileged parent's pins (mode 0600, root's), and a pin of the child's own.
    out += outcome("from_pin", SocketFilter::from_pin(prepared.bpffs / "prog"));
    out += outcome("map from_pin", Map::from_pin(prepared.bpffs / "array"));
    out += outcome("pin", prepared.unpinned.pin(prepared.bpffs / "child"));
    out += outcome("from_pin own", SocketFilter::from_pin(prepared.bpffs / "child"));
    out += outcome("unpin", prepared.unpinned.unpin());
    return out;
}

}  // namespace

namespace {

struct Expected {
    std::string name;
    std::string result;                   // "ok" or "Kind errno"
    std::vector<std::string> words = {};  // in the message
};

// Runs every_operation() in a child that drops its privileges with `drop_privileges`; checks each outcome.
void every_operation_as(const std::function<bool()>& drop_privileges, const std::vector<Expected>& expected) {
    Prepared prepared;
    const ChildReport report = run_in_child(drop_privileges, [&] { return every_operation(prepared); });
    INFO("child wrote:\n" << report.text);
    REQUIRE(report.exit_status == 0);
    const auto outcomes = parse_outcomes(report.text);
    CHECK(outcomes.size() == expected.size());
    for (const Expected& want : expected) {
        const auto found = outcomes.find(want.name);
        INFO(want.name);
        REQUIRE(found != outcomes.end());
        CHECK(found->second.result == want.result);
        for (const std::string& word : want.words) CHECK(contains(found->second.message, word));
    }
}

const std::string eperm = "PermissionDenied " + std::to_string(EPERM);
const std::string eacces = "PermissionDenied " + std::to_string(EACCES);
const std::vector<std::string> load_words{"CAP_BPF", "CAP_SYS_ADMIN", "kernel.unprivileged_bpf_disabled"};
const std::vector<std::string> admin_words{"CAP_SYS_ADMIN"};

// What a child without CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN gets, whoever it is, followed by `pins`:
// the pin rows, which depend on file permissions.
std::vector<Expected> without_capabilities(std::vector<Expected> pins) {
    std::vector<Expected> out{
        {"load", eperm, load_words},
        {"map create", eperm, load_words},
        {"object open", "ok"},
        {"object load", eperm, {"CAP_BPF", "kernel.unprivileged_bpf_disabled", "of the object"}},
        {"loaded_programs", eperm, admin_words},
        {"loaded_maps", eperm, admin_words},
        {"enable_stats", eperm, admin_words},
        // The kernel checks no privilege here: the fds were handed over by a privileged process.
        {"attach", "ok"},
        {"detach", "ok"},
        {"test_run", "ok"},
        {"info", "ok"},
        {"info fd by id", eperm, admin_words},
        {"map update", "ok"},
        {"map lookup", "ok"},
        {"ring_buf", "ok"},
        // The bpffs root is world-writable (sticky, like /tmp): anyone may pin there.
        {"pin", "ok"},
        {"from_pin own", "ok"},
        {"unpin", "ok"},
    };
    out.insert(out.end(), pins.begin(), pins.end());
    return out;
}

}  // namespace

TEST_CASE("privilege every operation as nobody") {
    SKIP_UNLESS(reason_to_skip());
    SKIP_WITHOUT_FEATURE(cap_bpf);  // and BPF_ENABLE_STATS, the same release
    // root's pins are mode 0600: nobody may not open them.
    every_operation_as(become_nobody, without_capabilities({{"from_pin", eacces, {"BPF_OBJ_GET", "may not read"}},
                                                            {"map from_pin", eacces, {"BPF_OBJ_GET", "may not read"}}}));
}

TEST_CASE("privilege every operation without CAP_BPF CAP_SYS_ADMIN and CAP_NET_ADMIN") {
    SKIP_UNLESS(reason_to_skip());
    SKIP_WITHOUT_FEATURE(cap_bpf);  // and BPF_ENABLE_STATS, the same release
    // Still uid 0 (with CAP_DAC_OVERRIDE): pins are files, and file permissions let root in.
    every_operation_as(drop_bpf_capabilities, without_capabilities({{"from_pin", "ok"}, {"map from_pin", "ok"}}));
}

namespace {

constexpr const char* sysctl_path = "/proc/sys/kernel/unprivileged_bpf_disabled";

// Writes 0 or 2 (never 1: that locks unprivileged BPF off until reboot) to the sysctl; 0 or the errno.
int write_unprivileged_bpf_disabled(int value) {
    if (value != 0 && value != 2) return EINVAL;
    const int fd = open(sysctl_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const char text[2] = {static_cast<char>('0' + value), '\n'};
    const int result = write(fd, text, sizeof text) == static_cast<ssize_t>(sizeof text) ? 0 : errno;
    close(fd);
    return result;
}

// Restores the sysctl's original value (0 or 2) when the test case ends, however it ends.
class UnprivilegedBpfRestorer {
public:
    explicit UnprivilegedBpfRestorer(int original) : original_(original) {}
    ~UnprivilegedBpfRestorer() { (void)write_unprivileged_bpf_disabled(original_); }
    UnprivilegedBpfRestorer(const UnprivilegedBpfRestorer&) = delete;
    UnprivilegedBpfRestorer& operator=(const UnprivilegedBpfRestorer&) = delete;

private:
    int original_;
};

// Drops packets whose first byte is 'x' (a unix socket's filter sees the payload from offset 0).
constexpr auto drop_x = filters::drop_if_byte<0, 'x'>;

// As nobody, with unprivileged BPF allowed: a socket filter on the child's own unix socket pair, its test run
// and info, the 4,096-instruction limit that applies without CAP_BPF, and an array map.
std::string unprivileged_filter() {
    std::string out;
    auto filter = SocketFilter::create("unpriv_drop_x", drop_x);
    if (!filter) return "create failed\n";
    out += outcome("load", filter->load());
    auto pair = unix_dgram_pair();
    out += outcome("attach", filter->attach(pair.receiver.get()));
    (void)send(pair.sender.get(), "xdropped", 8, 0);
    (void)send(pair.sender.get(), "kept", 4, 0);
    std::string received;
    for (const std::string& datagram : receive_all(pair.receiver.get())) received += (received.empty() ? "" : ",") + datagram;
    out += "received|" + received + "|\n";
    std::array<std::byte, 20> frame{};
    frame[14] = std::byte{'x'};
    const auto ran = filter->test_run({.data_in = frame});
    out += outcome("test_run", ran);
    if (ran) out += "return_value|" + std::to_string(ran->return_value) + "|\n";
    out += outcome("info", filter->info());

    using namespace sockfilter::insn;
    for (const std::size_t count : {std::size_t{4096}, std::size_t{4097}}) {
        std::vector<Insn> straight(count - 1, mov64_imm(Reg::R0, 0));
        straight.push_back(exit());
        auto big = SocketFilter::create("unpriv_big", straight);
        if (!big) return out + "create failed\n";
        out += outcome("load " + std::to_string(count), big->load());
    }
    out += outcome("map create", Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "unpriv"}));
    return out;
}

}  // namespace

TEST_CASE("privilege unprivileged socket filter when the sysctl allows it") {
    if (getuid() != 0) SKIP_UNLESS(std::string("needs root to set kernel.unprivileged_bpf_disabled"));
    const auto original = unprivileged_bpf_disabled();
    REQUIRE(original.has_value());
    if (*original == 1) SKIP_UNLESS(std::string("kernel.unprivileged_bpf_disabled is 1: locked until reboot"));
    REQUIRE((*original == 0 || *original == 2));
    ChildReport report;
    {
        const UnprivilegedBpfRestorer restorer(*original);
        // A sandbox may refuse the write (EPERM, EACCES, a read-only /proc): skip, saying so. Anything else fails.
        const int error = write_unprivileged_bpf_disabled(0);
        if (error == EPERM || error == EACCES || error == EROFS) {
            SKIP_UNLESS("writing 0 to kernel.unprivileged_bpf_disabled failed: " + std::string(std::strerror(error)));
        }
        INFO("writing 0 to kernel.unprivileged_bpf_disabled: " << std::strerror(error));
        REQUIRE(error == 0);
        REQUIRE(unprivileged_bpf_disabled() == std::optional<int>(0));
        report = run_in_child(become_nobody, unprivileged_filter);
    }
    CHECK(unprivileged_bpf_disabled() == original);  // restored

    INFO("child wrote:\n" << report.text);
    REQUIRE(report.exit_status == 0);
    const auto outcomes = parse_outcomes(report.text);
    CHECK(outcomes.at("load").result == "ok");
    CHECK(outcomes.at("attach").result == "ok");
    CHECK(outcomes.at("received").result == "kept");  // "xdropped" was dropped by the filter
    CHECK(outcomes.at("test_run").result == "ok");
    CHECK(outcomes.at("return_value").result == "0");
    CHECK(outcomes.at("info").result == "ok");
    CHECK(outcomes.at("load 4096").result == "ok");
    CHECK(outcomes.at("load 4097").result == "TooBig " + std::to_string(E2BIG));
    CHECK(contains(outcomes.at("load 4097").message, "4,096 without CAP_BPF"));
    CHECK(contains(outcomes.at("load 4097").message, "the program has 4097 instructions"));
    CHECK(outcomes.at("map create").result == "ok");
}
