// Fault injection over every public operation, through the fake OS layer: for each errno of
// {ENOMEM, EINTR, EAGAIN, EPERM, EFAULT, EBADF}, the operation runs with its 1st OS call failing, then its
// 2nd, … until it runs with no call failed. After each run: the result is an Error, or a success that a known
// policy explains (EAGAIN retried, a close or munmap failure not reported, a retry with a log or without BTF
// types) and whose state is checked; no fd is left behind; the object is consistent (a failed load leaves the
// filter unloaded and loadable, a failed pin records nothing and leaves no file, a failed object load leaves
// no map and no pin). The outcomes go into a markdown table, written to $SOCKFILTER_FAULT_TABLE when set
// (docs/reliability.md keeps a copy). Every call not failed reaches the kernel, so the cases need root.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fd_count.hpp"
#include "bpffs.hpp"
#include "fake_syscall.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockfilter/cpus.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/map_info.hpp"
#include "sockfilter/object.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/reuseport_socket_filter.hpp"
#include "sockfilter/ring_buf.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"
#include "sockfilter/typed_maps.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

constexpr std::array injected_errnos{ENOMEM, EINTR, EAGAIN, EPERM, EFAULT, EBADF};

std::string errno_name(int value) {
    switch (value) {
    case 0: return "no errno";
    case ENOMEM: return "ENOMEM";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    default: return "errno " + std::to_string(value);
    }
}



// ---- one injected run ----------------------------------------------------------------------------------

enum class Outcome : std::uint8_t {
    Clean,      // no call failed: the operation ran past its last call
    Error,      // a call failed and the operation reported an Error
    Recovered,  // a call failed and the operation succeeded anyway (explained by a policy, state checked)
};

// Arms the n-th call before the operation and disarms it after; what failed and what the fd count did.
class Injection {
public:
    Injection(int n, int errno_value) : n_(n), errno_value_(errno_value) {}

    void arm() {
        fds_at_arm_ = open_fd_count();
        fake::fail_nth_call(n_, errno_value_);
        armed_ = true;
    }

    // Disarms (later calls reach the kernel): call right after the operation, before checking it.
    void disarm() {
        fake::disarm_nth_call();
        fds_after_ = open_fd_count();
        failed_ = fake::nth_call_failed();
        log_ = fake::calls_log();
        disarmed_ = true;
    }

    [[nodiscard]] int n() const noexcept { return n_; }
    [[nodiscard]] int errno_value() const noexcept { return errno_value_; }
    [[nodiscard]] bool failed() const noexcept { return failed_; }
    [[nodiscard]] bool armed_and_disarmed() const noexcept { return armed_ && disarmed_; }
    [[nodiscard]] const std::vector<std::string>& log() const noexcept { return log_; }
    [[nodiscard]] std::string failed_call() const {
        return failed_ && n_ >= 1 && static_cast<std::size_t>(n_) <= log_.size() ? log_[static_cast<std::size_t>(n_ - 1)] : "";
    }
    // Open fds after the operation minus before it.
    [[nodiscard]] int fd_change() const noexcept { return fds_after_ - fds_at_arm_; }

    // Filled by judge(): how the Error reported the failure, when not with the injected errno.
    std::string reported;

private:
    int n_;
    int errno_value_;
    bool armed_ = false;
    bool disarmed_ = false;
    bool failed_ = false;
    int fds_at_arm_ = 0;
    int fds_after_ = 0;
    std::vector<std::string> log_;
};

// The policies under which a failed call may still end in success, by the failed call's name and errno.
std::optional<std::string> recovery_policy(std::string_view call, int errno_value) {
    if (call == "close") return "close failure not reported (the fd is released)";
    if (call == "munmap") return "munmap failure not reported (unmapped)";
    if (call == "bpf(BPF_PROG_LOAD)") {
        if (errno_value == EAGAIN) return "BPF_PROG_LOAD EAGAIN retried";
        if (errno_value == EFAULT) return "BPF_PROG_LOAD retried with a verifier log, which loaded";
    }
    if (call == "bpf(BPF_BTF_LOAD)") return "BPF_BTF_LOAD retried with a log, which loaded";
    if (call == "bpf(BPF_MAP_CREATE)") return "map created again without BTF types";
    return std::nullopt;
}

// Classifies `result` after inj.disarm(). An Error must say something, and with `fds_released` (the default)
// must leave the fd count where it was before the operation (`consumed`: fds the operation took ownership of).
template <typename T>
Outcome judge(const Result<T>& result, Injection& inj, int consumed = 0) {
    REQUIRE(inj.armed_and_disarmed());
    if (!inj.failed()) {
        INFO("no call failed, yet: " << message_of(result));
        REQUIRE(result.has_value());
        return Outcome::Clean;
    }
    INFO("call " << inj.n() << " (" << inj.failed_call() << ") failed with " << errno_name(inj.errno_value()));
    if (result.has_value()) {
        const auto policy = recovery_policy(inj.failed_call(), inj.errno_value());
        INFO("the operation succeeded despite the failure");
        CHECK(policy.has_value());
        return Outcome::Recovered;
    }
    const Error& error = result.error();
    INFO(error.message());
    CHECK_FALSE(error.message().empty());
    CHECK_FALSE(error.operation().empty());
    CHECK(inj.fd_change() == -consumed);
    if (error.code().value() != inj.errno_value()) {
        inj.reported = inj.failed_call() + " reported as " + errno_name(error.code().value()) + " (" +
                       std::string(to_string(error.kind())) + ")";
    }
    return Outcome::Error;
}

// ---- the table -------------------------------------------------------------------------------------------

struct Row {
    std::string operation;
    std::vector<std::string> calls;                   // the calls of the run with no failure
    std::map<int, std::vector<Outcome>> by_errno;     // outcome of call 1, 2, … per errno
    std::set<std::string> notes;                      // recoveries and errnos reported otherwise
};

std::vector<Row>& table() {
    static std::vector<Row> rows;
    return rows;
}

// "bpf(BPF_OBJ_GET), open(/proc/self/fdinfo/N), read ×2, close": repeats folded, long walks cut.
std::string call_list(const std::vector<std::string>& calls) {
    std::vector<std::string> folded;
    for (std::size_t i = 0; i < calls.size();) {
        std::size_t j = i;
        while (j < calls.size() && calls[j] == calls[i]) ++j;
        folded.push_back(j - i > 1 ? calls[i] + " ×" + std::to_string(j - i) : calls[i]);
        i = j;
    }
    std::string out;
    constexpr std::size_t shown = 10;
    for (std::size_t i = 0; i < folded.size() && i < shown; ++i) out += (i == 0 ? "" : ", ") + folded[i];
    if (folded.size() > shown) out += ", … (a walk over every object in the kernel)";
    return out.empty() ? "none" : out;
}

// "E 1–3, R 4": the calls whose failure gave an Error (E) or a recovered success (R).
std::string cell(const std::vector<Outcome>& outcomes) {
    std::string out;
    for (const Outcome kind : {Outcome::Error, Outcome::Recovered}) {
        std::string ranges;
        for (std::size_t i = 0; i < outcomes.size();) {
            if (outcomes[i] != kind) {
                ++i;
                continue;
            }
            std::size_t j = i;
            while (j + 1 < outcomes.size() && outcomes[j + 1] == kind) ++j;
            ranges += (ranges.empty() ? "" : ",") + std::to_string(i + 1) + (j > i ? "–" + std::to_string(j + 1) : "");
            i = j + 1;
        }
        if (!ranges.empty()) out += (out.empty() ? "" : "; ") + std::string(kind == Outcome::Error ? "E " : "R ") + ranges;
    }
    return out.empty() ? "–" : out;
}

void write_table() {
    const char* path = std::getenv("SOCKFILTER_FAULT_TABLE");
    if (path == nullptr || *path == '\0') return;
    std::ofstream out(path, std::ios::trunc);
    out << "| operation | OS calls of a run with no failure | calls | ENOMEM | EINTR | EAGAIN | EPERM | EFAULT | EBADF | notes |\n";
    out << "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const Row& row : table()) {
        out << "| " << row.operation << " | " << call_list(row.calls) << " | " << row.calls.size();
        for (const int errno_value : injected_errnos) {
            const auto found = row.by_errno.find(errno_value);
            out << " | " << (found == row.by_errno.end() ? "–" : cell(found->second));
        }
        std::string notes;
        for (const auto& note : row.notes) notes += (notes.empty() ? "" : "; ") + note;
        out << " | " << (notes.empty() ? "" : notes) << " |\n";
    }
}

// Sweeps `operation`: for every errno, n = 1, 2, … until a run in which no call failed. `run` sets up, calls
// inj.arm() right before the operation and inj.disarm() right after, checks the state for the outcome
// judge() gives, and destroys what it made: the fd count must be back where it was.
void sweep(const std::string& operation, const std::function<Outcome(Injection&)>& run) {
    fake::Scope scope;
    Row row{.operation = operation, .calls = {}, .by_errno = {}, .notes = {}};
    for (const int errno_value : injected_errnos) {
        for (int n = 1;; ++n) {
            INFO(operation << ": call " << n << " fails with " << errno_name(errno_value));
            REQUIRE(n <= 400);
            const int fds_before = open_fd_count();
            Injection inj(n, errno_value);
            const Outcome outcome = run(inj);
            fake::reset();
            CHECK(open_fd_count() == fds_before);
            if (outcome == Outcome::Clean) {
                CHECK(inj.log().size() == static_cast<std::size_t>(n - 1));
                if (row.calls.empty() || inj.log().size() > row.calls.size()) row.calls = inj.log();
                break;
            }
            row.by_errno[errno_value].push_back(outcome);
            if (outcome == Outcome::Recovered) {
                row.notes.insert("R " + inj.failed_call() + ": " +
                                 recovery_policy(inj.failed_call(), errno_value).value_or("UNEXPLAINED"));
            }
            if (!inj.reported.empty()) row.notes.insert(inj.reported);
        }
    }
    table().push_back(std::move(row));
    write_table();
}

// ---- fixtures ----------------------------------------------------------------------------------------------

constexpr auto exit_without_r0 = sockfilter::insn::program(sockfilter::insn::exit());

// An Ethernet frame of `size` bytes for test runs.
std::vector<std::byte> frame(std::size_t size = 64) { return std::vector<std::byte>(size); }

// The program's return value on a 64-byte frame: `pass` returns skb->len, 50 once the Ethernet header is pulled.
std::uint32_t run_pass(const Program& program) {
    const auto bytes = frame();
    const auto run = program.test_run({.data_in = bytes});
    INFO(message_of(run));
    REQUIRE(run.has_value());
    return run->return_value;
}

// A UDP socket, closed on destruction.
struct Socket {
    int fd = -1;
    explicit Socket(bool reuseport = false) {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        if (reuseport) {
            const int on = 1;
            REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        }
    }
    ~Socket() { ::close(fd); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
};

Map hash_map(std::string_view name = "sweep_hash") {
    return created_map({.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8, .name = name});
}

std::span<const std::byte> bytes_of(const std::uint32_t& value) { return std::as_bytes(std::span(&value, 1)); }
std::span<const std::byte> bytes_of(const std::uint64_t& value) { return std::as_bytes(std::span(&value, 1)); }

// The value at `key`, or nothing; REQUIREs that the lookup itself works.
std::optional<std::uint64_t> value_at(const Map& map, std::uint32_t key) {
    std::uint64_t value = 0;
    const auto found = map.lookup(bytes_of(key), std::as_writable_bytes(std::span(&value, 1)));
    if (!found && found.error().kind() == ErrorKind::NotFound) return std::nullopt;
    INFO(message_of(found));
    REQUIRE(found.has_value());
    return value;
}

void put(Map& map, std::uint32_t key, std::uint64_t value) {
    const auto updated = map.update(bytes_of(key), bytes_of(value));
    INFO(message_of(updated));
    REQUIRE(updated.has_value());
}

std::uint32_t id_of(const Map& map) {
    const auto info = map.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    return info->id();
}

std::uint32_t id_of(const Program& program) {
    const auto info = program.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    return info->id();
}

// Every entry of a bpffs directory but ., .. and the kernel's own progs.debug and maps.debug (in a mount's root).
std::vector<std::string> entries(const std::string& directory) {
    std::vector<std::string> out;
    DIR* dir = opendir(directory.c_str());
    REQUIRE(dir != nullptr);
    while (const dirent* entry = readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != ".." && name != "progs.debug" && name != "maps.debug") out.emplace_back(name);
    }
    closedir(dir);
    return out;
}

// After a failed Object::load: no map, no program, no pin in `pin_directory` but those in `kept`.
void check_nothing_loaded(Object& object, const std::string& pin_directory, const std::vector<std::string>& kept = {}) {
    for (const auto& spec : object.map_specs()) {
        INFO(spec.name);
        const auto map = object.map(spec.name);
        REQUIRE_FALSE(map.has_value());
        CHECK(map.error().kind() == ErrorKind::NotLoaded);
    }
    const auto program = object.socket_filter(object.programs().front().name);
    REQUIRE_FALSE(program.has_value());
    CHECK(program.error().kind() == ErrorKind::NotLoaded);
    CHECK_FALSE(object.btf_loaded());
    CHECK(entries(pin_directory) == kept);
}

// A UDP frame to `port` for port_filter: Ethernet (pulled by the test run), the UDP header, 4 payload bytes.
std::vector<std::byte> frame_with_udp_port(std::uint16_t port) {
    std::vector<std::byte> out(14 + 8 + 4);
    out[14 + 2] = static_cast<std::byte>(port >> 8);
    out[14 + 3] = static_cast<std::byte>(port & 0xff);
    return out;
}

}  // namespace

// ---- programs ------------------------------------------------------------------------------------------------

TEST_CASE("fault sweep program create load and unload") {
    REQUIRE_FEATURE(test_run);

    sweep("SocketFilter::create + load", [](Injection& inj) {
        inj.arm();
        auto filter = SocketFilter::create("sweep_load", filters::pass);
        REQUIRE(filter.has_value());  // no OS call
        const auto load = filter->load();
        inj.disarm();
        const Outcome outcome = judge(load, inj);
        if (outcome == Outcome::Error) {
            CHECK_FALSE(filter->is_loaded());
            const auto again = filter->load();
            INFO(message_of(again));
            REQUIRE(again.has_value());
        }
        CHECK(filter->is_loaded());
        CHECK(run_pass(*filter) == 50);
        return outcome;
    });

    sweep("SocketFilter::load (verifier rejects: log retry)", [](Injection& inj) {
        SocketFilter filter = created("sweep_reject", exit_without_r0);
        inj.arm();
        const auto load = filter.load();
        inj.disarm();
        REQUIRE_FALSE(load.has_value());  // never loads
        CHECK_FALSE(filter.is_loaded());
        if (!inj.failed()) {
            CHECK(load.error().kind() == ErrorKind::VerifierRejected);
            CHECK_FALSE(load.error().verifier_log().empty());
            return Outcome::Clean;
        }
        const Result<void> as_result = std::unexpected(load.error());
        const Outcome outcome = judge(as_result, inj);
        // Loading again without a failure gives the verifier's own answer.
        const auto again = filter.load();
        REQUIRE_FALSE(again.has_value());
        CHECK(again.error().kind() == ErrorKind::VerifierRejected);
        CHECK_FALSE(again.error().verifier_log().empty());
        return outcome;
    });

    sweep("SocketFilter::unload", [](Injection& inj) {
        SocketFilter filter = loaded("sweep_unload", filters::pass);
        inj.arm();
        const auto unload = filter.unload();
        inj.disarm();
        const Outcome outcome = judge(unload, inj);
        CHECK_FALSE(filter.is_loaded());
        CHECK(inj.fd_change() == -1);  // released, whatever close() said
        const auto again = filter.load();
        INFO(message_of(again));
        REQUIRE(again.has_value());
        return outcome;
    });

    sweep("Program::test_run", [](Injection& inj) {
        const SocketFilter filter = loaded("sweep_run", filters::pass);
        const auto bytes = frame();
        inj.arm();
        const auto run = filter.test_run({.data_in = bytes});
        inj.disarm();
        const Outcome outcome = judge(run, inj);
        if (run) CHECK(run->return_value == 50);
        CHECK(run_pass(filter) == 50);
        return outcome;
    });
}

TEST_CASE("fault sweep program attach and detach") {
    REQUIRE_FEATURE(so_detach_reuseport_bpf);

    sweep("SocketFilter::attach", [](Injection& inj) {
        const SocketFilter filter = loaded("sweep_attach", filters::pass);
        const Socket socket;
        inj.arm();
        const auto attach = filter.attach(socket.fd);
        inj.disarm();
        const Outcome outcome = judge(attach, inj);
        const auto detach = SocketFilter::detach(socket.fd);
        if (outcome == Outcome::Error) {
            // Nothing attached: detaching finds no filter; attaching again works.
            REQUIRE_FALSE(detach.has_value());
            CHECK(detach.error().kind() == ErrorKind::NotFound);
            const auto again = filter.attach(socket.fd);
            INFO(message_of(again));
            CHECK(again.has_value());
        } else {
            INFO(message_of(detach));
            CHECK(detach.has_value());
        }
        return outcome;
    });

    sweep("SocketFilter::detach", [](Injection& inj) {
        const SocketFilter filter = loaded("sweep_detach", filters::pass);
        const Socket socket;
        REQUIRE(filter.attach(socket.fd).has_value());
        inj.arm();
        const auto detach = SocketFilter::detach(socket.fd);
        inj.disarm();
        const Outcome outcome = judge(detach, inj);
        const auto again = SocketFilter::detach(socket.fd);
        if (outcome == Outcome::Error) {
            INFO(message_of(again));
            CHECK(again.has_value());  // still attached until now
        } else {
            REQUIRE_FALSE(again.has_value());
            CHECK(again.error().kind() == ErrorKind::NotFound);
        }
        return outcome;
    });

    NetnsScope netns;
    sweep("ReusePortSocketFilter::attach", [](Injection& inj) {
        const auto filter = loaded<ReusePortSocketFilter>("sweep_reuseport", filters::return_constant<0>);
        const Socket socket(true);
        inj.arm();
        const auto attach = filter.attach(socket.fd);
        inj.disarm();
        const Outcome outcome = judge(attach, inj);
        const auto detach = ReusePortSocketFilter::detach(socket.fd);
        if (outcome == Outcome::Error) {
            REQUIRE_FALSE(detach.has_value());
            CHECK(detach.error().kind() == ErrorKind::NotFound);
        } else {
            INFO(message_of(detach));
            CHECK(detach.has_value());
        }
        return outcome;
    });

    sweep("ReusePortSocketFilter::detach", [](Injection& inj) {
        const auto filter = loaded<ReusePortSocketFilter>("sweep_reuseport", filters::return_constant<0>);
        const Socket socket(true);
        REQUIRE(filter.attach(socket.fd).has_value());
        inj.arm();
        const auto detach = ReusePortSocketFilter::detach(socket.fd);
        inj.disarm();
        const Outcome outcome = judge(detach, inj);
        const auto again = ReusePortSocketFilter::detach(socket.fd);
        CHECK(again.has_value() == (outcome == Outcome::Error));
        return outcome;
    });
}

TEST_CASE("fault sweep program pins") {
    REQUIRE_FEATURE(test_run);
    const TempBpffs bpffs;
    const std::string path = bpffs / "sweep_prog";

    sweep("Program::pin", [&](Injection& inj) {
        SocketFilter filter = loaded("sweep_pin", filters::pass);
        inj.arm();
        const auto pin = filter.pin(path);
        inj.disarm();
        const Outcome outcome = judge(pin, inj);
        if (outcome == Outcome::Error) {
            CHECK_FALSE(filter.pinned_path().has_value());
            CHECK_FALSE(path_exists(path));
            const auto again = filter.pin(path);
            INFO(message_of(again));
            REQUIRE(again.has_value());
        }
        CHECK(filter.pinned_path() == path);
        CHECK(path_exists(path));
        REQUIRE(filter.unpin().has_value());
        return outcome;
    });

    sweep("SocketFilter::from_pin", [&](Injection& inj) {
        std::uint32_t id = 0;
        {
            SocketFilter filter = loaded("sweep_from_pin", filters::pass);
            REQUIRE(filter.pin(path).has_value());
            id = id_of(filter);
        }
        inj.arm();
        auto opened = SocketFilter::from_pin(path);
        inj.disarm();
        const Outcome outcome = judge(opened, inj);
        if (opened) {
            CHECK(opened->name() == "sweep_from_pin");
            CHECK(id_of(*opened) == id);
            CHECK(run_pass(*opened) == 50);
        }
        REQUIRE(::unlink(path.c_str()) == 0);
        return outcome;
    });

    sweep("Program::unpin", [&](Injection& inj) {
        SocketFilter filter = loaded("sweep_unpin", filters::pass);
        REQUIRE(filter.pin(path).has_value());
        inj.arm();
        const auto unpin = filter.unpin();
        inj.disarm();
        const Outcome outcome = judge(unpin, inj);
        if (outcome == Outcome::Error) {
            CHECK(filter.pinned_path() == path);  // still recorded, still there
            CHECK(path_exists(path));
            REQUIRE(filter.unpin().has_value());
        }
        CHECK_FALSE(filter.pinned_path().has_value());
        CHECK_FALSE(path_exists(path));
        return outcome;
    });

    sweep("ProgramInfo::from_pin", [&](Injection& inj) {
        SocketFilter filter = loaded("sweep_info_pin", filters::pass);
        REQUIRE(filter.pin(path).has_value());
        inj.arm();
        const auto info = ProgramInfo::from_pin(path);
        inj.disarm();
        const Outcome outcome = judge(info, inj);
        if (info) {
            CHECK(info->id() == id_of(filter));
            CHECK(info->name() == "sweep_info_pin");
            CHECK(info->memory_locked().has_value());
        }
        REQUIRE(filter.unpin().has_value());
        return outcome;
    });
}

TEST_CASE("fault sweep program info and the kernel-wide walks") {
    REQUIRE_FEATURE(enable_stats);
    REQUIRE_FEATURE(ring_buffers);

    // A program that uses maps: info() reads the map ids with a second BPF_OBJ_GET_INFO_BY_FD.
    Object object = loaded_object("proto_count");
    const SocketFilter counting = loaded_program(object, "count_protocols");
    const auto expected = counting.info();
    REQUIRE(expected.has_value());
    REQUIRE(expected->map_ids().size() == 2);

    sweep("Program::info", [&](Injection& inj) {
        inj.arm();
        const auto info = counting.info();
        inj.disarm();
        const Outcome outcome = judge(info, inj);
        if (info) {
            CHECK(info->id() == expected->id());
            CHECK(info->name() == expected->name());
            CHECK(info->program_type() == BPF_PROG_TYPE_SOCKET_FILTER);
            CHECK(info->map_ids() == expected->map_ids());
            CHECK(info->memory_locked().has_value());
        }
        return outcome;
    });

    sweep("ProgramFd::try_clone", [&](Injection& inj) {
        inj.arm();
        const auto clone = counting.fd()->get().try_clone();
        inj.disarm();
        const Outcome outcome = judge(clone, inj);
        if (clone) CHECK(clone->get() >= 3);
        return outcome;
    });

    sweep("ProgramInfo::fd", [&](Injection& inj) {
        inj.arm();
        const auto fd = expected->fd();
        inj.disarm();
        const Outcome outcome = judge(fd, inj);
        if (fd) CHECK(ProgramInfo::from_fd(*fd)->id() == expected->id());
        return outcome;
    });

    sweep("loaded_programs", [&](Injection& inj) {
        inj.arm();
        const auto all = loaded_programs();
        inj.disarm();
        const Outcome outcome = judge(all, inj);
        if (all) CHECK(std::any_of(all->begin(), all->end(), [&](const auto& info) { return info.id() == expected->id(); }));
        return outcome;
    });

    const auto map_id = id_of(object.map("proto_bytes")->get());
    sweep("loaded_maps", [&](Injection& inj) {
        inj.arm();
        const auto all = loaded_maps();
        inj.disarm();
        const Outcome outcome = judge(all, inj);
        if (all) CHECK(std::any_of(all->begin(), all->end(), [&](const auto& info) { return info.id() == map_id; }));
        return outcome;
    });

    sweep("enable_stats", [](Injection& inj) {
        inj.arm();
        const auto guard = enable_stats();
        inj.disarm();
        const Outcome outcome = judge(guard, inj);
        if (guard) CHECK(guard->fd() >= 3);
        return outcome;
    });

    rlimit current{};
    REQUIRE(getrlimit(RLIMIT_MEMLOCK, &current) == 0);
    sweep("raise_memlock_limit", [&](Injection& inj) {
        inj.arm();
        const auto raised = raise_memlock_limit(current.rlim_max);
        inj.disarm();
        const Outcome outcome = judge(raised, inj);
        rlimit now{};
        REQUIRE(getrlimit(RLIMIT_MEMLOCK, &now) == 0);
        CHECK(now.rlim_max == current.rlim_max);
        return outcome;
    });

    sweep("possible_cpu_count", [](Injection& inj) {
        inj.arm();
        const auto cpus = possible_cpu_count();
        inj.disarm();
        const Outcome outcome = judge(cpus, inj);
        if (cpus) CHECK(*cpus >= 1);
        return outcome;
    });
}

// ---- maps ----------------------------------------------------------------------------------------------------

TEST_CASE("fault sweep map create and element access") {
    REQUIRE_FEATURE(map_freeze);

    sweep("Map::create", [](Injection& inj) {
        inj.arm();
        auto map = Map::create({.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8, .name = "sweep_create"});
        inj.disarm();
        const Outcome outcome = judge(map, inj);
        if (map) {
            put(*map, 1, 2);
            CHECK(value_at(*map, 1) == 2U);
        }
        return outcome;
    });

    sweep("Map::create (per-CPU: possible CPUs)", [](Injection& inj) {
        inj.arm();
        auto map = Map::create({.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "sweep_percpu"});
        inj.disarm();
        const Outcome outcome = judge(map, inj);
        if (map) {
            CHECK(map->possible_cpus() == *possible_cpu_count());
            CHECK(map->is_per_cpu());
        }
        return outcome;
    });

    sweep("Map::lookup", [](Injection& inj) {
        Map map = hash_map();
        put(map, 1, 7);
        std::uint64_t value = 0;
        const std::uint32_t key = 1;
        inj.arm();
        const auto found = map.lookup(bytes_of(key), std::as_writable_bytes(std::span(&value, 1)));
        inj.disarm();
        const Outcome outcome = judge(found, inj);
        if (found) CHECK(value == 7);
        return outcome;
    });

    sweep("Map::update", [](Injection& inj) {
        Map map = hash_map();
        put(map, 1, 7);
        const std::uint32_t key = 1;
        const std::uint64_t value = 8;
        inj.arm();
        const auto updated = map.update(bytes_of(key), bytes_of(value));
        inj.disarm();
        const Outcome outcome = judge(updated, inj);
        CHECK(value_at(map, 1) == (outcome == Outcome::Error ? 7U : 8U));
        return outcome;
    });

    sweep("Map::erase", [](Injection& inj) {
        Map map = hash_map();
        put(map, 1, 7);
        const std::uint32_t key = 1;
        inj.arm();
        const auto erased = map.erase(bytes_of(key));
        inj.disarm();
        const Outcome outcome = judge(erased, inj);
        CHECK(value_at(map, 1).has_value() == (outcome == Outcome::Error));
        return outcome;
    });

    sweep("Map::keys", [](Injection& inj) {
        Map map = hash_map();
        for (std::uint32_t key = 0; key < 3; ++key) put(map, key, key);
        inj.arm();
        const auto keys = map.keys();
        inj.disarm();
        const Outcome outcome = judge(keys, inj);
        if (keys) CHECK(keys->size() == 3);
        return outcome;
    });

    sweep("Map::freeze", [](Injection& inj) {
        Map map = hash_map();
        inj.arm();
        const auto frozen = map.freeze();
        inj.disarm();
        const Outcome outcome = judge(frozen, inj);
        const std::uint32_t key = 1;
        const std::uint64_t value = 1;
        const auto write = map.update(bytes_of(key), bytes_of(value));
        CHECK(write.has_value() == (outcome == Outcome::Error));  // frozen maps refuse writes from user space
        CHECK(map.info()->frozen() == (outcome != Outcome::Error));
        return outcome;
    });

    sweep("Map::info", [](Injection& inj) {
        const Map map = hash_map("sweep_info");
        inj.arm();
        const auto info = map.info();
        inj.disarm();
        const Outcome outcome = judge(info, inj);
        if (info) {
            CHECK(info->name() == "sweep_info");
            CHECK(info->key_size() == 4);
            CHECK(info->value_size() == 8);
            CHECK(info->frozen() == false);
            CHECK(info->memory_locked().has_value());
        }
        return outcome;
    });

    sweep("Map::from_fd", [](Injection& inj) {
        const Map map = hash_map("sweep_from_fd");
        auto clone = map.fd().try_clone();
        REQUIRE(clone.has_value());
        inj.arm();
        const auto adopted = Map::from_fd(std::move(*clone));
        inj.disarm();
        const Outcome outcome = judge(adopted, inj, 1);  // the fd was given away: closed on failure
        if (adopted) {
            CHECK(adopted->name() == "sweep_from_fd");
            CHECK(adopted->value_size() == 8);
            CHECK(id_of(*adopted) == id_of(map));
        }
        return outcome;
    });
}

TEST_CASE("fault sweep map pins") {
    REQUIRE_FEATURE(object_names);
    const TempBpffs bpffs;
    const std::string path = bpffs / "sweep_map";

    sweep("Map::pin", [&](Injection& inj) {
        Map map = hash_map();
        inj.arm();
        const auto pin = map.pin(path);
        inj.disarm();
        const Outcome outcome = judge(pin, inj);
        if (outcome == Outcome::Error) {
            CHECK_FALSE(map.pinned_path().has_value());
            CHECK_FALSE(path_exists(path));
            REQUIRE(map.pin(path).has_value());
        }
        CHECK(map.pinned_path() == path);
        REQUIRE(map.unpin().has_value());
        CHECK_FALSE(path_exists(path));
        return outcome;
    });

    sweep("Map::from_pin", [&](Injection& inj) {
        Map map = hash_map("sweep_from_pin");
        REQUIRE(map.pin(path).has_value());
        inj.arm();
        const auto opened = Map::from_pin(path);
        inj.disarm();
        const Outcome outcome = judge(opened, inj);
        if (opened) {
            CHECK(opened->name() == "sweep_from_pin");
            CHECK(id_of(*opened) == id_of(map));
        }
        REQUIRE(map.unpin().has_value());
        return outcome;
    });

    sweep("Map::unpin", [&](Injection& inj) {
        Map map = hash_map();
        REQUIRE(map.pin(path).has_value());
        inj.arm();
        const auto unpin = map.unpin();
        inj.disarm();
        const Outcome outcome = judge(unpin, inj);
        if (outcome == Outcome::Error) {
            CHECK(map.pinned_path() == path);
            CHECK(path_exists(path));
            REQUIRE(map.unpin().has_value());
        }
        CHECK_FALSE(path_exists(path));
        return outcome;
    });
}

TEST_CASE("fault sweep typed views") {
    REQUIRE_FEATURE(lru_hash_maps);

    sweep("Array::set + get", [](Injection& inj) {
        auto array = view_of<Array<std::uint64_t>>(created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4, .name = "sweep_array"}));
        inj.arm();
        const auto set = array.set(2, 42);
        const auto got = set ? array.get(2) : Result<std::uint64_t>(std::unexpected(set.error()));
        inj.disarm();
        const Outcome outcome = judge(got, inj);
        if (got) CHECK(*got == 42);
        return outcome;
    });

    sweep("HashMap::insert + get + keys + remove", [](Injection& inj) {
        auto hash = view_of<HashMap<std::uint32_t, std::uint64_t>>(hash_map());
        REQUIRE(hash.insert(1, 10).has_value());
        inj.arm();
        const auto result = [&]() -> Result<std::vector<std::uint32_t>> {
            if (auto inserted = hash.insert(2, 20); !inserted) return std::unexpected(inserted.error());
            if (auto got = hash.get(1); !got) return std::unexpected(got.error());
            auto keys = hash.keys();
            if (!keys) return keys;
            if (auto removed = hash.remove(1); !removed) return std::unexpected(removed.error());
            return keys;
        }();
        inj.disarm();
        const Outcome outcome = judge(result, inj);
        if (result) {
            auto keys = *result;
            std::sort(keys.begin(), keys.end());
            CHECK(keys == std::vector<std::uint32_t>{1, 2});
            CHECK_FALSE(hash.get(1).has_value());
        }
        return outcome;
    });

    sweep("PerCpuArray::set + get", [](Injection& inj) {
        auto array = view_of<PerCpuArray<std::uint32_t>>(created_map({.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2, .name = "sweep_pcpu"}));
        const std::vector<std::uint32_t> values(array.map().possible_cpus(), 5);
        inj.arm();
        const auto set = array.set(1, values);
        const auto got = set ? array.get(1) : Result<std::vector<std::uint32_t>>(std::unexpected(set.error()));
        inj.disarm();
        const Outcome outcome = judge(got, inj);
        if (got) CHECK(*got == values);
        return outcome;
    });
}

TEST_CASE("fault sweep ring buffers") {
    REQUIRE_FEATURE(ring_buffers);
    // ring_records' program writes one record per test run.
    Object object = loaded_object("ring_records");
    const SocketFilter producer = loaded_program(object, "emit_record");
    const auto ring_id = id_of(object.map("records")->get());

    sweep("RingBuf::create", [&](Injection& inj) {
        auto fd = object.map("records")->get().fd().try_clone();
        REQUIRE(fd.has_value());
        auto records = Map::from_fd(std::move(*fd));
        REQUIRE(records.has_value());
        inj.arm();
        auto ring = RingBuf::create(std::move(*records));
        inj.disarm();
        const Outcome outcome = judge(ring, inj, 1);  // the map was given away
        if (ring) {
            CHECK(ring->capacity() == 64 * 1024);
            CHECK(id_of(ring->map()) == ring_id);
            CHECK(ring->epoll_fd() >= 3);
        }
        return outcome;
    });

    // Destruction: both mappings unmapped and the epoll fd closed, whatever munmap and close say.
    sweep("RingBuf::into_map (munmap, close)", [&](Injection& inj) {
        auto clone = object.map("records")->get().fd().try_clone();
        REQUIRE(clone.has_value());
        auto map = Map::from_fd(std::move(*clone));
        REQUIRE(map.has_value());
        auto made_ring = RingBuf::create(std::move(*map));
        REQUIRE(made_ring.has_value());
        inj.arm();
        const Result<Map> back = std::move(*made_ring).into_map();
        inj.disarm();
        const Outcome outcome = judge(back, inj);
        CHECK(inj.fd_change() == -1);  // the epoll fd
        CHECK(made_ring->available_bytes() == 0);
        CHECK(id_of(*back) == ring_id);
        return outcome;
    });

    auto fd = object.map("records")->get().fd().try_clone();
    REQUIRE(fd.has_value());
    auto records = Map::from_fd(std::move(*fd));
    REQUIRE(records.has_value());
    auto made = RingBuf::create(std::move(*records));
    INFO(message_of(made));
    REQUIRE(made.has_value());
    RingBuf ring = std::move(*made);
    ring.consume([](std::span<const std::byte>) {});

    sweep("RingBuf::poll + consume", [&](Injection& inj) {
        run_pass(producer);
        run_pass(producer);
        std::size_t seen = 0;
        inj.arm();
        const auto polled = ring.poll(std::chrono::milliseconds(1000), [&](std::span<const std::byte>) {
            ++seen;
            return RecordAction::Stop;
        });
        const std::size_t consumed = ring.consume([&](std::span<const std::byte>) { ++seen; });
        inj.disarm();
        const Outcome outcome = judge(polled, inj);
        if (polled) {
            CHECK(*polled == 1);
            CHECK(consumed == 1);
            CHECK(seen == 2);
        } else {
            CHECK(consumed == 2);  // poll failed before reading: consume reads both
        }
        CHECK(ring.available_bytes() == 0);
        return outcome;
    });
}

// ---- objects -------------------------------------------------------------------------------------------------

TEST_CASE("fault sweep object open and load") {
    REQUIRE_FEATURE(global_data);
    const TempBpffs bpffs;
    const ObjectOptions options{.pin_directory = bpffs.path()};

    sweep("Object::open", [](Injection& inj) {
        inj.arm();
        const auto object = Object::open(object_path("port_filter"));
        inj.disarm();
        const Outcome outcome = judge(object, inj);
        if (object) CHECK(object->programs().size() == 1);
        return outcome;
    });

    // port_filter: global data (.data, .rodata frozen, .bss) with BTF.
    sweep("Object::load (global data)", [&](Injection& inj) {
        Object object = opened_object("port_filter");
        REQUIRE(object.set_global("accept_port", std::uint16_t{4242}));
        inj.arm();
        const auto load = object.load(options);
        inj.disarm();
        const Outcome outcome = judge(load, inj);
        if (outcome == Outcome::Error) {
            check_nothing_loaded(object, bpffs.path());
            const auto again = object.load(options);
            INFO(message_of(again));
            REQUIRE(again.has_value());
        }
        const SocketFilter filter = loaded_program(object, "filter_port");
        const auto accepted = frame_with_udp_port(4242);
        const auto refused = frame_with_udp_port(4243);
        CHECK(filter.test_run({.data_in = accepted})->return_value == 0xffffU);
        CHECK(filter.test_run({.data_in = refused})->return_value == 0U);
        CHECK(object.map_specs().size() == 3);
        for (const auto& spec : object.map_specs()) CHECK(object.map(spec.name).has_value());
        return outcome;
    });

    // proto_count: two BTF-defined maps with key and value types.
    sweep("Object::load (BTF maps)", [&](Injection& inj) {
        Object object = opened_object("proto_count");
        inj.arm();
        const auto load = object.load(options);
        inj.disarm();
        const Outcome outcome = judge(load, inj);
        if (outcome == Outcome::Error) {
            check_nothing_loaded(object, bpffs.path());
            REQUIRE(object.load(options).has_value());
        }
        for (const auto& spec : object.map_specs()) CHECK(object.map(spec.name).has_value());
        const SocketFilter filter = loaded_program(object, "count_protocols");
        CHECK(run_pass(filter) == 50);
        return outcome;
    });

    // pinned_pair: two maps pinned by name, both created by this load.
    sweep("Object::load (pinned maps, created)", [&](Injection& inj) {
        Object object = opened_object("pinned_pair");
        inj.arm();
        const auto load = object.load(options);
        inj.disarm();
        const Outcome outcome = judge(load, inj);
        if (outcome == Outcome::Error) {
            check_nothing_loaded(object, bpffs.path());
            REQUIRE(object.load(options).has_value());
        }
        for (const char* name : {"pinned_first", "pinned_second"}) {
            auto map = object.map(name);
            REQUIRE(map.has_value());
            CHECK(map->get().pinned_path() == bpffs / name);
            CHECK(path_exists(bpffs / name));
            REQUIRE(map->get().unpin().has_value());
        }
        CHECK(entries(bpffs.path()).empty());
        return outcome;
    });

    // pinned_maps: its map pinned by an earlier load, reused by this one (BPF_OBJ_GET and the shape check).
    sweep("Object::load (pinned map, reused)", [&](Injection& inj) {
        std::uint32_t pinned_id = 0;
        {
            Object first = loaded_object("pinned_maps", options);
            pinned_id = id_of(first.map("pinned_counts")->get());
        }
        Object object = opened_object("pinned_maps");
        inj.arm();
        const auto load = object.load(options);
        inj.disarm();
        const Outcome outcome = judge(load, inj);
        if (outcome == Outcome::Error) {
            check_nothing_loaded(object, bpffs.path(), {"pinned_counts"});  // the earlier pin is left alone
            REQUIRE(object.load(options).has_value());
        }
        CHECK(id_of(object.map("pinned_counts")->get()) == pinned_id);
        REQUIRE(::unlink((bpffs / "pinned_counts").c_str()) == 0);
        return outcome;
    });
}

TEST_CASE("fault sweep object programs and maps taken out") {
    REQUIRE_FEATURE(global_data);
    Object object = loaded_object("proto_count");
    REQUIRE(object.btf_loaded());

    sweep("Object::socket_filter", [&](Injection& inj) {
        inj.arm();
        auto filter = object.socket_filter("count_protocols");
        inj.disarm();
        const Outcome outcome = judge(filter, inj);
        if (filter) {
            REQUIRE(filter->load().has_value());
            CHECK(run_pass(*filter) == 50);
        }
        return outcome;
    });

    sweep("Object::take_map", [](Injection& inj) {
        Object fresh = loaded_object("proto_count");
        const auto id = id_of(fresh.map("proto_bytes")->get());
        inj.arm();
        const auto taken = fresh.take_map("proto_bytes");
        inj.disarm();
        const Outcome outcome = judge(taken, inj);
        if (outcome == Outcome::Error) {
            const auto still = fresh.map("proto_bytes");
            REQUIRE(still.has_value());
            CHECK(id_of(still->get()) == id);
        } else {
            CHECK(id_of(*taken) == id);
            CHECK(fresh.map("proto_bytes").error().kind() == ErrorKind::NotFound);
        }
        // Either way the object's programs still find the map.
        const SocketFilter filter = loaded_program(fresh, "count_protocols");
        CHECK(run_pass(filter) == 50);
        return outcome;
    });
}
