// Error paths the kernel will not produce on demand, through the fake OS layer (support/fake_syscall.cpp):
// EAGAIN retries, a failing retry with a log, fds handed out on 0–2, and dup failures.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <span>
#include <string>
#include <string_view>

#include "bpffs.hpp"
#include "fake_syscall.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/map_info.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

// Keeps a copy of standard input and puts it back, whatever happens to fd 0 meanwhile.
struct SavedStdin {
    int copy = fcntl(0, F_DUPFD_CLOEXEC, 3);
    SavedStdin() { REQUIRE(copy >= 3); }
    ~SavedStdin() {
        dup2(copy, 0);
        close(copy);
    }
    SavedStdin(const SavedStdin&) = delete;
    SavedStdin& operator=(const SavedStdin&) = delete;
};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

constexpr auto exit_without_r0 = sockfilter::insn::program(sockfilter::insn::exit());

}  // namespace

TEST_CASE("error path EAGAIN is retried") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;
    SocketFilter filter = created("eagain3", filters::pass);
    fake::fail_bpf(BPF_PROG_LOAD, EAGAIN, 3);
    const auto load = filter.load();
    INFO(message_of(load));
    REQUIRE(load.has_value());
    CHECK(fake::bpf_calls(BPF_PROG_LOAD) == 4);
    CHECK(filter.is_loaded());

    // Five interruptions in a row are still retried: the sixth attempt succeeds.
    fake::reset();
    SocketFilter five = created("eagain5", filters::pass);
    fake::fail_bpf(BPF_PROG_LOAD, EAGAIN, 5);
    const auto load5 = five.load();
    INFO(message_of(load5));
    REQUIRE(load5.has_value());
    CHECK(fake::bpf_calls(BPF_PROG_LOAD) == 6);
}

TEST_CASE("error path EAGAIN gives up after six attempts") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;
    SocketFilter filter = created("eagain6", filters::pass);
    fake::fail_bpf(BPF_PROG_LOAD, EAGAIN, 6);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    const std::string message = load.error().message();
    INFO(message);
    CHECK(load.error().code() == std::errc::resource_unavailable_try_again);
    CHECK(load.error().kind() == ErrorKind::SyscallFailed);
    CHECK(contains(message, "EAGAIN"));
    CHECK(contains(message, "interrupted"));
    CHECK(load.error().verifier_log().empty());
    // No retry with a log: the verifier has nothing to say about signals.
    CHECK(fake::bpf_calls(BPF_PROG_LOAD) == 6);
    CHECK_FALSE(filter.is_loaded());
}

TEST_CASE("error path a failing log retry keeps the first errno") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;

    SECTION("the kernel rejects then the retry fails") {
        // The real verifier refuses the program (EACCES); the retry with a log is made to fail with ENOMEM.
        SocketFilter filter = created("retry_enomem", exit_without_r0);
        fake::fail_bpf(BPF_PROG_LOAD, ENOMEM, 1, 1);
        const auto load = filter.load();
        REQUIRE_FALSE(load.has_value());
        const std::string message = load.error().message();
        INFO(message);
        CHECK(fake::bpf_calls(BPF_PROG_LOAD) == 2);
        CHECK(load.error().code() == std::errc::permission_denied);  // the first attempt's EACCES
        CHECK(load.error().verifier_log().empty());
        CHECK(load.error().kind() != ErrorKind::VerifierRejected);  // no log to show for it
        CHECK(contains(message, "EACCES"));
        CHECK(contains(message, "the retry with a verifier log failed too"));
        CHECK(contains(message, "ENOMEM"));
        CHECK_FALSE(contains(message, ".."));  // the nested message ends its own sentence
    }
    SECTION("both attempts fail before the kernel") {
        SocketFilter filter = created("retry_einval", filters::pass);
        fake::fail_bpf(BPF_PROG_LOAD, EINVAL, 1);
        const auto first_only = filter.load();
        // The first attempt fails (EINVAL), the retry with a log reaches the kernel and succeeds.
        INFO(message_of(first_only));
        CHECK(first_only.has_value());
        CHECK(fake::bpf_calls(BPF_PROG_LOAD) == 2);
        REQUIRE(filter.unload().has_value());

        fake::reset();
        fake::fail_bpf(BPF_PROG_LOAD, EINVAL, 2);
        const auto both = filter.load();
        REQUIRE_FALSE(both.has_value());
        INFO(both.error().message());
        CHECK(both.error().code() == std::errc::invalid_argument);
        CHECK(both.error().kind() == ErrorKind::InvalidArgument);
        CHECK(both.error().verifier_log().empty());
        // Same errno twice: no second story in the detail.
        CHECK_FALSE(contains(both.error().message(), "failed too"));
    }
    SECTION("a retry that never reaches the kernel leaves a stale log buffer unread") {
        // The caller's buffer still holds bytes from earlier; the retry fails before the kernel writes a log
        // into it, so none of those bytes may come back as a verifier log.
        SocketFilter filter = created("retry_stale", filters::pass);
        std::array<char, 256> buffer;
        buffer.fill('x');
        fake::fail_bpf(BPF_PROG_LOAD, EINVAL, 2);
        const auto load = filter.load({.log_buffer = buffer});
        REQUIRE_FALSE(load.has_value());
        INFO(load.error().message());
        CHECK(load.error().verifier_log().empty());
        CHECK(load.error().kind() == ErrorKind::InvalidArgument);
        CHECK_FALSE(contains(load.error().message(), "xxx"));
    }
}

TEST_CASE("error path the retry log overflows a caller buffer") {
    REQUIRE_FEATURE(rotating_verifier_log);
    fake::Scope scope;
    // The first attempt fails (fake EINVAL) with a program the verifier accepts; the retry's log at level 2
    // does not fit 128 bytes, which Linux 6.4+ reports as ENOSPC although the program loads. The library
    // must not hand back a loaded program it cannot keep, nor lose the first errno.
    SocketFilter filter = created("retry_nospc", filters::pass);
    std::array<char, 128> buffer{};
    fake::fail_bpf(BPF_PROG_LOAD, EINVAL, 1);
    const auto load = filter.load({.log_level = 2, .log_buffer = buffer});
    INFO(message_of(load));
    REQUIRE_FALSE(load.has_value());
    CHECK(load.error().code() == std::errc::invalid_argument);
    CHECK(load.error().verifier_log_truncated());
    CHECK_FALSE(filter.is_loaded());
}

TEST_CASE("error path the checksum flag refused by a kernel before 6.11 is not supported") {
    REQUIRE_FEATURE(test_run);
    fake::Scope scope;
    const SocketFilter filter = loaded("csum_old", filters::pass);
    const std::array<std::byte, 64> frame{};
    const TestRunOptions options{.data_in = frame, .flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE};
    fake::fail_bpf(BPF_PROG_TEST_RUN, EINVAL, 2);
    fake::pretend_kernel_release("6.1.0-57-cloud-amd64");
    const auto old = filter.test_run(options);
    REQUIRE_FALSE(old.has_value());
    INFO(old.error().message());
    CHECK(old.error().kind() == ErrorKind::NotSupported);
    CHECK(old.error().code() == std::errc::invalid_argument);
    CHECK(contains(old.error().message(), "needs Linux 6.11; this kernel is 6.1.0-57-cloud-amd64"));
    // From 6.11 on the kernel knows the flag: its EINVAL is about something else and stands as it is.
    fake::pretend_kernel_release("6.11.0");
    const auto current = filter.test_run(options);
    REQUIRE_FALSE(current.has_value());
    INFO(current.error().message());
    CHECK(current.error().kind() == ErrorKind::InvalidArgument);
    CHECK(fake::bpf_calls(BPF_PROG_TEST_RUN) == 2);  // one call each: nothing probed, nothing retried
}

TEST_CASE("error path a fd on 0 is moved above 2") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;
    SavedStdin saved;
    SocketFilter filter = created("low_fd", filters::pass);
    fake::land_next_fd_on(BPF_PROG_LOAD, 0);
    const auto load = filter.load();
    const bool stdin_was_closed = !is_open(0);
    INFO(message_of(load));
    REQUIRE(load.has_value());
    const int fd = filter.fd()->get().get();
    CHECK(fd >= 3);
    CHECK(stdin_was_closed);  // the library closed the fd it moved away from
    CHECK(fake::dup_calls() == 1);
    const auto info = filter.info();
    REQUIRE(info.has_value());
    CHECK(info->program_type() == BPF_PROG_TYPE_SOCKET_FILTER);
}

TEST_CASE("error path moving a low fd fails") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;
    SavedStdin saved;
    SocketFilter filter = created("low_fd_fail", filters::pass);
    fake::land_next_fd_on(BPF_PROG_LOAD, 0);
    fake::fail_dup(EMFILE);
    const auto load = filter.load();
    const bool stdin_was_closed = !is_open(0);
    REQUIRE_FALSE(load.has_value());
    const std::string message = load.error().message();
    INFO(message);
    CHECK(load.error().code() == std::errc::too_many_files_open);
    CHECK(load.error().operation() == "F_DUPFD_CLOEXEC");
    CHECK(contains(message, "BPF_PROG_LOAD"));
    CHECK(contains(message, "above 2"));
    CHECK(stdin_was_closed);  // the program fd on 0 was not leaked
    CHECK_FALSE(filter.is_loaded());
}

TEST_CASE("error path try_clone cannot dup") {
    REQUIRE_FEATURE(socket_filter_programs);
    fake::Scope scope;
    SocketFilter filter = created("clone_fail", filters::pass);
    REQUIRE(filter.load().has_value());
    const auto fd = filter.fd();
    REQUIRE(fd.has_value());

    fake::fail_dup(EMFILE);
    const auto clone = fd->get().try_clone();
    REQUIRE_FALSE(clone.has_value());
    const std::string message = clone.error().message();
    INFO(message);
    CHECK(clone.error().code() == std::errc::too_many_files_open);
    CHECK(clone.error().kind() == ErrorKind::SyscallFailed);
    CHECK(contains(message, "EMFILE"));
    CHECK(contains(message, "file descriptors"));

    // Disarmed, the same call works.
    const auto again = fd->get().try_clone();
    REQUIRE(again.has_value());
    CHECK(again->get() >= 3);
}

TEST_CASE("error path info and pin failures carry the errno") {
    REQUIRE_FEATURE(object_ids);
    fake::Scope scope;
    SocketFilter filter = created("info_fail", filters::pass);
    REQUIRE(filter.load().has_value());

    fake::fail_bpf(BPF_OBJ_GET_INFO_BY_FD, EFAULT);
    const auto info = filter.info();
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().message());
    CHECK(info.error().code() == std::errc::bad_address);
    CHECK(info.error().operation() == "BPF_OBJ_GET_INFO_BY_FD");

    fake::fail_bpf(BPF_OBJ_PIN, EACCES);
    const auto pinned = filter.pin("/nonexistent-sockfilter-dir/p");
    REQUIRE_FALSE(pinned.has_value());
    INFO(pinned.error().message());
    CHECK(pinned.error().kind() == ErrorKind::PermissionDenied);
    CHECK(contains(pinned.error().message(), "no write permission"));
    CHECK_FALSE(filter.pinned_path().has_value());
}

TEST_CASE("error path a verifier log that is not UTF-8") {
    fake::Scope scope;
    // Both the plain load and the retry with a log fail; the retry's log holds bytes that are not text.
    static constexpr std::string_view garbled = "0: (95) exit\nR0 \xff\xfe!read_ok\x01\n";
    fake::fail_bpf(BPF_PROG_LOAD, EACCES, 2);
    fake::log_on_failure(garbled);
    auto filter = created("garbled", filters::pass);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    CHECK(load.error().kind() == ErrorKind::VerifierRejected);
    CHECK(load.error().verifier_log() == garbled);  // kept byte for byte
    const std::string message = load.error().message();
    INFO(message);
    CHECK(contains(message, "R0 ?" "?!read_ok?"));  // shown as printable text (split: "??!" is a trigraph)
    for (const char c : message) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t'));
}

TEST_CASE("error path huge sizes are refused before any syscall") {
    fake::Scope scope;
    const SocketFilter filter = loaded("huge", filters::pass);
    const int runs_before = fake::bpf_calls(BPF_PROG_TEST_RUN);
    // Spans that claim more than the kernel's 32-bit sizes can say: refused without touching the memory.
    std::array<std::byte, 64> frame{};
    const std::span<const std::byte> too_big(frame.data(), std::size_t{1} << 33);
    const auto run = filter.test_run({.data_in = too_big});
    REQUIRE_FALSE(run.has_value());
    CHECK(run.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(run.error().message(), "data_in holds 8589934592 bytes"));  // over a page: test_run's own check
    const auto program = filter.fd();
    REQUIRE(program.has_value());
    const auto raw = sys::prog_test_run(program->get().get(), {.data_in = too_big});  // the sys:: layer's check
    REQUIRE_FALSE(raw.has_value());
    CHECK(raw.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(raw.error().message(), "4 GiB"));
    CHECK(fake::bpf_calls(BPF_PROG_TEST_RUN) == runs_before);

    const std::span<const Insn> too_many(filters::pass.data(), std::size_t{1} << 33);
    const auto created_huge = SocketFilter::create("huge", too_many);
    REQUIRE_FALSE(created_huge.has_value());
    CHECK(created_huge.error().kind() == ErrorKind::InvalidArgument);
    INFO(created_huge.error().message());
    CHECK(contains(created_huge.error().message(), "instructions"));
}

TEST_CASE("error path loaded_programs skips a program that vanishes mid-walk") {
    REQUIRE_FEATURE(object_ids);
    fake::Scope scope;
    const SocketFilter ours = loaded("vanishing", filters::pass);
    const auto our_info = ours.info();
    REQUIRE(our_info.has_value());
    const std::uint32_t our_id = our_info->id();
    const SocketFilter later = loaded("after_ours", filters::pass);
    const auto later_info = later.info();
    REQUIRE(later_info.has_value());
    const std::uint32_t later_id = later_info->id();
    REQUIRE(later_id > our_id);

    const auto all = loaded_programs();
    INFO(message_of(all));
    REQUIRE(all.has_value());
    std::size_t position = all->size();
    for (std::size_t i = 0; i < all->size(); ++i) {
        if ((*all)[i].id() == our_id) position = i;
    }
    REQUIRE(position < all->size());

    // Our program "is unloaded" between GET_NEXT_ID and GET_FD_BY_ID: ENOENT for its id alone. The walk
    // goes on past it and lists the programs after it.
    fake::reset();
    fake::fail_bpf(BPF_PROG_GET_FD_BY_ID, ENOENT, 1, static_cast<int>(position));
    const auto walked = loaded_programs();
    INFO(message_of(walked));
    REQUIRE(walked.has_value());
    CHECK(fake::bpf_calls(BPF_PROG_GET_FD_BY_ID) >= static_cast<int>(all->size()));
    bool listed = false;
    for (const auto& program : *walked) listed = listed || program.id() == our_id;
    CHECK_FALSE(listed);
    CHECK(walked->size() + 1 >= all->size());  // only ours is missing (others may come and go meanwhile)
    bool later_listed = false;  // loaded after ours, so walked after it
    for (const auto& program : *walked) later_listed = later_listed || program.id() == later_id;
    CHECK(later_listed);

    // Any other failure ends the walk with that error.
    fake::reset();
    fake::fail_bpf(BPF_PROG_GET_FD_BY_ID, EPERM, 1);
    const auto refused = loaded_programs();
    REQUIRE_FALSE(refused.has_value());
    INFO(refused.error().message());
    CHECK(refused.error().kind() == ErrorKind::PermissionDenied);
    CHECK(contains(refused.error().message(), "CAP_SYS_ADMIN"));
}

// Found by the fault sweep (fault_sweep_test.cpp): a failure to read /proc/self/fdinfo other than "no /proc"
// (ENOENT) was taken as "no /proc", skipping the kind check: ProgramInfo::from_fd of a map fd then handed
// back the map's bpf_map_info read as a bpf_prog_info, and every info() lost memory_locked() silently.
TEST_CASE("error path an unreadable fdinfo is reported and not skipped") {
    REQUIRE_FEATURE(object_ids);
    fake::Scope scope;
    const SocketFilter filter = loaded("fdinfo_fail", filters::pass);
    auto map = Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1, .name = "fdinfo_fail"});
    REQUIRE(map.has_value());

    for (const int errno_value : {EMFILE, ENOMEM, EINTR}) {
        INFO("open of fdinfo fails with " << errno_value);
        fake::fail_nth_call(1, errno_value, fake::Open);
        const auto program_of_map = ProgramInfo::from_fd(map->fd().get());
        REQUIRE_FALSE(program_of_map.has_value());
        CHECK(program_of_map.error().code().value() == errno_value);
        CHECK(program_of_map.error().operation() == "fdinfo");

        fake::fail_nth_call(1, errno_value, fake::Open);
        const auto map_of_program = MapInfo::from_fd(filter.fd()->get().get());
        REQUIRE_FALSE(map_of_program.has_value());
        CHECK(map_of_program.error().code().value() == errno_value);

        fake::fail_nth_call(2, errno_value, fake::Read | fake::Open);  // the read fails
        const auto info = filter.info();
        REQUIRE_FALSE(info.has_value());
        CHECK(info.error().code().value() == errno_value);
    }
    fake::reset();
    // No /proc (ENOENT) still skips the check, as documented.
    fake::fail_nth_call(1, ENOENT, fake::Open);
    const auto without_proc = filter.info();
    INFO(message_of(without_proc));
    REQUIRE(without_proc.has_value());
    CHECK_FALSE(without_proc->memory_locked().has_value());
}

// Found by the fault sweep: from_pin ignored a failing BPF_OBJ_GET_INFO_BY_FD and handed out a program whose
// name() was empty; and a failing fdinfo read while checking a pin was reported as "mount /proc", errno lost.
TEST_CASE("error path from_pin reports what it could not read") {
    REQUIRE_FEATURE(object_names);
    fake::Scope scope;
    const TempBpffs bpffs;
    const std::string path = bpffs / "named";
    SocketFilter filter = loaded("named", filters::pass);
    REQUIRE(filter.pin(path).has_value());

    fake::fail_bpf(BPF_OBJ_GET_INFO_BY_FD, ENOMEM);
    const auto nameless = SocketFilter::from_pin(path);
    REQUIRE_FALSE(nameless.has_value());
    CHECK(nameless.error().code() == std::errc::not_enough_memory);
    CHECK(contains(nameless.error().message(), path));

    fake::reset();
    fake::fail_nth_call(1, EMFILE, fake::Open);
    const auto unchecked = SocketFilter::from_pin(path);
    REQUIRE_FALSE(unchecked.has_value());
    CHECK(unchecked.error().code() == std::errc::too_many_files_open);
    CHECK(unchecked.error().kind() != ErrorKind::NotSupported);
    CHECK(contains(unchecked.error().message(), path));

    fake::reset();
    const auto named = SocketFilter::from_pin(path);
    INFO(message_of(named));
    REQUIRE(named.has_value());
    CHECK(named->name() == "named");
    REQUIRE(filter.unpin().has_value());
}
