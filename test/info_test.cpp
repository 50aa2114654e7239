// ProgramInfo: every field a socket filter gets on this kernel, cross-checked with bpftool and the clock.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "bpffs.hpp"
#include "sockfilter/sys.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

ProgramInfo info_of(const Program& program) {
    auto info = program.info();
    INFO((info ? std::string() : info.error().message()));
    REQUIRE(info.has_value());
    return std::move(*info);
}

bool jit_enabled() {
    std::ifstream file("/proc/sys/net/core/bpf_jit_enable");
    int value = 0;
    return (file >> value) && value != 0;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("info fields of a socket filter") {
    REQUIRE_FEATURE(verified_insns);
    const auto before = std::chrono::system_clock::now();
    const SocketFilter filter = loaded("info_pass", filters::pass);
    const auto after = std::chrono::system_clock::now();
    const ProgramInfo info = info_of(filter);

    CHECK(info.program_type() == BPF_PROG_TYPE_SOCKET_FILTER);
    CHECK(info.id() > 0);
    CHECK(info.name() == std::optional<std::string_view>("info_pass"));
    // Both ways observed: JIT on, native code and one function; JIT off (interpreter), none.
    CHECK((info.size_jitted() > 0) == jit_enabled());
    CHECK(info.jited_function_count() == std::optional<std::uint32_t>(jit_enabled() ? 1 : 0));
    // No BTF was loaded: no func_info/line_info, nothing to attach to by BTF, no recursion (5.12+).
    CHECK(info.func_info_count() == std::optional<std::uint32_t>(0));
    CHECK(info.line_info_count() == std::optional<std::uint32_t>(0));
    CHECK(info.attach_btf_object_id() == std::optional<std::uint32_t>(0));
    CHECK(info.attach_btf_id() == std::optional<std::uint32_t>(0));
    CHECK(info.recursion_misses() == std::optional<std::uint64_t>(0));
    CHECK(info.raw().id == info.id());
    CHECK(info.raw().type == BPF_PROG_TYPE_SOCKET_FILTER);
    // Two instructions, translated as they are (no rewrites for a plain skb->len load on this type are
    // guaranteed, so only check it is a whole number of instructions).
    CHECK(info.size_translated() > 0);
    CHECK(info.size_translated() % sizeof(bpf_insn) == 0);

    const auto loaded_at = info.loaded_at();
    REQUIRE(loaded_at.has_value());
    CHECK(*loaded_at >= before - std::chrono::seconds(1));
    CHECK(*loaded_at <= after + std::chrono::seconds(1));

    CHECK(info.created_by_uid() == std::optional<std::uint32_t>(getuid()));
    CHECK(info.created_by_uid() == std::optional<std::uint32_t>(0));
    CHECK(info.map_ids().empty());
    CHECK(info.gpl_compatible() == std::optional<bool>(true));
    CHECK(info.ifindex() == std::optional<std::uint32_t>(0));
    CHECK_FALSE(info.btf_id().has_value());  // loaded without BTF
    const auto verified = info.verified_instruction_count();
    REQUIRE(verified.has_value());
    CHECK(*verified > 0);
    const auto memlock = info.memory_locked();
    REQUIRE(memlock.has_value());
    CHECK(*memlock > 0);
    // As the kernel shows it in fdinfo.
    const auto program_fd = filter.fd();
    REQUIRE(program_fd.has_value());
    std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(program_fd->get().get()));
    std::string fdinfo_text;
    for (std::string line; std::getline(fdinfo, line);) fdinfo_text += line + "\n";
    INFO(fdinfo_text);
    CHECK(contains(fdinfo_text, "memlock:\t" + std::to_string(*memlock) + "\n"));
    CHECK(info.info_size() >= offsetof(bpf_prog_info, verified_insns) + sizeof(std::uint32_t));

    // The fd stays the same program: a second read agrees.
    const ProgramInfo again = info_of(filter);
    CHECK(again.id() == info.id());
    CHECK(again.tag() == info.tag());
}

TEST_CASE("info tag matches bpftool") {
    REQUIRE_FEATURE(object_names);
    const SocketFilter filter = loaded("info_tag", filters::trim_tail<3>);
    const ProgramInfo info = info_of(filter);
    const std::string hex = info.tag_hex();
    CHECK(hex.size() == 16);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(hex != std::string(16, '0'));

    const auto shown = output_of("bpftool prog show id " + std::to_string(info.id()));
    INFO(shown.value_or("bpftool failed"));
    REQUIRE(shown.has_value());
    CHECK(contains(*shown, std::to_string(info.id()) + ": socket_filter"));
    CHECK(contains(*shown, "tag " + hex));
    CHECK(contains(*shown, "name info_tag"));

    // The tag hashes the instructions: another program has another tag; the same one has the same tag.
    const SocketFilter other = loaded("info_tag2", filters::trim_tail<4>);
    CHECK(info_of(other).tag() != info.tag());
    const SocketFilter same = loaded("info_tag3", filters::trim_tail<3>);
    CHECK(info_of(same).tag() == info.tag());
    CHECK(info_of(same).id() != info.id());
}

TEST_CASE("info gpl_compatible follows the license") {
    REQUIRE_FEATURE(gpl_compatible_info);
    const SocketFilter gpl = loaded("info_gpl", filters::pass, "GPL");
    const SocketFilter dual = loaded("info_dual", filters::pass, "Dual MIT/GPL");
    const SocketFilter proprietary = loaded("info_prop", filters::pass, "Proprietary");
    CHECK(info_of(gpl).gpl_compatible() == std::optional<bool>(true));
    CHECK(info_of(dual).gpl_compatible() == std::optional<bool>(true));
    CHECK(info_of(proprietary).gpl_compatible() == std::optional<bool>(false));
    CHECK(proprietary.license() == "Proprietary");
}

TEST_CASE("info id is listed in loaded_programs") {
    REQUIRE_FEATURE(object_ids);
    const SocketFilter filter = loaded("info_listed", filters::drop_all);
    const ProgramInfo info = info_of(filter);
    const auto programs = loaded_programs();
    INFO((programs ? std::string() : programs.error().message()));
    REQUIRE(programs.has_value());
    const ProgramInfo* found = nullptr;
    std::uint32_t previous = 0;
    bool ascending = true;
    for (const auto& program : *programs) {
        if (program.id() <= previous) ascending = false;
        previous = program.id();
        if (program.id() == info.id()) found = &program;
    }
    CHECK(ascending);
    REQUIRE(found != nullptr);
    CHECK(found->name() == std::optional<std::string_view>("info_listed"));
    CHECK(found->tag() == info.tag());
    CHECK(found->program_type() == BPF_PROG_TYPE_SOCKET_FILTER);
}

TEST_CASE("info run statistics") {
    REQUIRE_FEATURE(enable_stats);
    const SocketFilter filter = loaded("info_stats", filters::pass);
    auto stats = enable_stats();
    INFO((stats ? std::string() : stats.error().message()));
    REQUIRE(stats.has_value());
    CHECK(stats->fd() >= 3);

    const ProgramInfo start = info_of(filter);
    REQUIRE(start.run_count().has_value());
    REQUIRE(start.run_time().has_value());
    CHECK(*start.run_count() == 0);

    SECTION("packets through an attached filter") {
        auto pair = unix_dgram_pair();
        REQUIRE(filter.attach(pair.receiver.get()).has_value());
        for (int i = 0; i < 5; ++i) {
            REQUIRE(send(pair.sender.get(), "counted", 7, 0) == 7);
            REQUIRE(receive(pair.receiver.get()) == std::optional<std::string>("counted"));
        }
        const ProgramInfo end = info_of(filter);
        CHECK(end.run_count() == std::optional<std::uint64_t>(5));
        CHECK(end.run_time() > std::optional<std::chrono::nanoseconds>(std::chrono::nanoseconds(0)));
    }
    SECTION("test_run with repeat") {
        std::array<std::byte, 64> frame{};
        const auto ran = filter.test_run({.data_in = frame, .repeat = 1000});
        INFO((ran ? std::string() : ran.error().message()));
        REQUIRE(ran.has_value());
        CHECK(ran->return_value == 50);
        const ProgramInfo end = info_of(filter);
        // The test runner goes through the same counting entry as real packets: one count per repetition.
        CHECK(end.run_count() == std::optional<std::uint64_t>(1000));
        CHECK(end.run_time() > std::optional<std::chrono::nanoseconds>(std::chrono::nanoseconds(0)));
    }
}

namespace {
// What /proc/<pid>/fd/<fd> links to ("anon_inode:bpf-stats" for a BPF_ENABLE_STATS fd), or empty.
std::string fd_target(const std::string& link) {
    std::array<char, 256> target{};
    const auto length = readlink(link.c_str(), target.data(), target.size() - 1);
    return length > 0 ? std::string(target.data(), static_cast<std::size_t>(length)) : std::string();
}

// True when any process holds a BPF_ENABLE_STATS fd (statistics are counted while one is open), or turned
// statistics on through the kernel.bpf_stats_enabled sysctl.
bool statistics_on_anywhere() {
    std::ifstream sysctl("/proc/sys/kernel/bpf_stats_enabled");
    int by_sysctl = 0;
    if ((sysctl >> by_sysctl) && by_sysctl != 0) return true;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return true;
    bool found = false;
    while (const dirent* process = readdir(proc)) {
        if (process->d_name[0] < '0' || process->d_name[0] > '9') continue;
        const std::string fd_dir = std::string("/proc/") + process->d_name + "/fd";
        DIR* fds = opendir(fd_dir.c_str());
        if (fds == nullptr) continue;
        while (const dirent* fd = readdir(fds)) {
            if (fd_target(fd_dir + "/" + fd->d_name) == "anon_inode:bpf-stats") found = true;
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}
}  // namespace

TEST_CASE("info run statistics stop with the guard") {
    REQUIRE_FEATURE(enable_stats);
    const SocketFilter filter = loaded("info_guard", filters::pass);
    auto pair = unix_dgram_pair();
    REQUIRE(filter.attach(pair.receiver.get()).has_value());
    auto one_packet = [&] {
        REQUIRE(send(pair.sender.get(), "x", 1, 0) == 1);
        REQUIRE(receive(pair.receiver.get()) == std::optional<std::string>("x"));
    };
    {
        auto stats = enable_stats();
        INFO((stats ? std::string() : stats.error().message()));
        REQUIRE(stats.has_value());
        CHECK(fd_target("/proc/self/fd/" + std::to_string(stats->fd())) == "anon_inode:bpf-stats");
        one_packet();
        one_packet();
        CHECK(info_of(filter).run_count() == std::optional<std::uint64_t>(2));
    }
    // The guard is gone. Another process may hold its own (another test run): wait until none does.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (statistics_on_anywhere() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE_FALSE(statistics_on_anywhere());
    one_packet();
    one_packet();
    const auto after = info_of(filter).run_count();
    const bool undisturbed = !statistics_on_anywhere();
    INFO("statistics stayed off throughout: " << undisturbed);
    // Not counted without a guard (unless another process turned counting on while the packets went).
    CHECK((after == std::optional<std::uint64_t>(2) || !undisturbed));
}

TEST_CASE("info fd reopens the program by id") {
    REQUIRE_FEATURE(object_ids);
    const SocketFilter filter = loaded("info_reopen", filters::trim_tail<1>);
    const ProgramInfo info = info_of(filter);
    auto reopened = info.fd();
    INFO((reopened ? std::string() : reopened.error().message()));
    REQUIRE(reopened.has_value());
    CHECK(reopened->get() >= 3);
    CHECK(reopened->get() != filter.fd()->get().get());
    const auto reread = ProgramInfo::from_fd(*reopened);
    REQUIRE(reread.has_value());
    CHECK(reread->id() == info.id());
    CHECK(reread->name() == std::optional<std::string_view>("info_reopen"));

    // The reopened fd works like the original one (trim_tail<1>: unix sockets see the payload alone).
    auto pair = unix_dgram_pair();
    const int program_fd = reopened->get();
    REQUIRE(setsockopt(pair.receiver.get(), SOL_SOCKET, SO_ATTACH_BPF, &program_fd, sizeof program_fd) == 0);
    REQUIRE(send(pair.sender.get(), "abcd", 4, 0) == 4);
    CHECK(receive(pair.receiver.get()) == std::optional<std::string>("abc"));
}

TEST_CASE("info of something that is not a program") {
    REQUIRE_FEATURE(object_ids);
    auto pair = unix_dgram_pair();
    const auto info = ProgramInfo::from_fd(pair.sender.get());
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().message());
    CHECK(info.error().operation() == "BPF_OBJ_GET_INFO_BY_FD");
    CHECK(info.error().kind() == ErrorKind::InvalidArgument);

    const auto closed = ProgramInfo::from_fd(-1);
    REQUIRE_FALSE(closed.has_value());
    INFO(closed.error().message());
    // 6.18 says EBADFD (77) for an fd that is not open; older kernels say EBADF.
    const int closed_errno = closed.error().code().value();
    CHECK((closed_errno == EBADF || closed_errno == EBADFD));
}

TEST_CASE("info of a map fd") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string map_path = bpffs / "not_a_program";
    REQUIRE(run("bpftool map create " + map_path + " type array key 4 value 4 entries 1 name m") == 0);
    const auto path = sys::PathBuffer::from(map_path);
    REQUIRE(path.has_value());
    const auto map = sys::obj_get(path->ref());
    REQUIRE(map.has_value());
    // The kernel would fill a bpf_map_info into our bpf_prog_info: the fd's kind is checked first.
    const auto info = ProgramInfo::from_fd(map->get());
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().message());
    CHECK(info.error().kind() == ErrorKind::UnexpectedProgramType);
    CHECK(info.error().message().find("a map (type 2)") != std::string::npos);
}

TEST_CASE("info before load") {
    auto filter = SocketFilter::create("info_none", filters::pass);
    REQUIRE(filter.has_value());
    const auto info = filter->info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().kind() == ErrorKind::NotLoaded);
}
