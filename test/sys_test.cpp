// sockfilter::sys used on its own, as a thin typed bpf(2) layer: every command once, against the kernel.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/bpf.h>

#include <array>
#include <cstring>
#include <string>

#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

ProgramFd load_pass() {
    const sys::ProgLoadRequest request{
        .program_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = filters::pass, .license = "GPL", .name = "sys_pass"};
    auto fd = sys::prog_load(request);
    INFO(message_of(fd));
    REQUIRE(fd.has_value());
    return std::move(*fd);
}

bpf_prog_info info_of(int fd) {
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    const auto size = sys::obj_get_info_by_fd(fd, std::as_writable_bytes(std::span(&info, 1)));
    INFO(message_of(size));
    REQUIRE(size.has_value());
    CHECK(*size > offsetof(bpf_prog_info, name));
    return info;
}

}  // namespace

TEST_CASE("sys commands on their own") {
    REQUIRE_FEATURE(enable_stats);
    const ProgramFd program = load_pass();
    CHECK(program.get() >= 3);
    CHECK((fcntl(program.get(), F_GETFD) & FD_CLOEXEC) != 0);
    const bpf_prog_info info = info_of(program.get());
    CHECK(info.type == BPF_PROG_TYPE_SOCKET_FILTER);
    CHECK(std::string(info.name) == "sys_pass");

    // PROG_TEST_RUN: a 20-byte frame leaves 6 bytes after the Ethernet header, so skb->len is 6.
    std::array<std::byte, 20> frame{};
    const auto run = sys::prog_test_run(program.get(), {.data_in = frame});
    INFO(message_of(run));
    REQUIRE(run.has_value());
    CHECK(run->return_value == 6);

    // OBJ_PIN / OBJ_GET round trip, read-only open included.
    TempBpffs bpffs;
    const auto path = sys::PathBuffer::from(bpffs / "sys_pass");
    REQUIRE(path.has_value());
    REQUIRE(sys::obj_pin(program.get(), path->ref()).has_value());
    const auto reopened = sys::obj_get(path->ref(), BPF_F_RDONLY);
    INFO(message_of(reopened));
    REQUIRE(reopened.has_value());
    CHECK(info_of(reopened->get()).id == info.id);
    const auto both_flags = sys::obj_get(path->ref(), BPF_F_RDONLY | BPF_F_WRONLY);
    REQUIRE_FALSE(both_flags.has_value());
    CHECK(both_flags.error().kind() == ErrorKind::InvalidArgument);

    // PROG_GET_NEXT_ID finds our id; PROG_GET_FD_BY_ID opens it; past the last id is NotFound.
    std::uint32_t id = 0;
    bool found = false;
    for (;;) {
        const auto next = sys::prog_get_next_id(id);
        if (!next) {
            CHECK(next.error().kind() == ErrorKind::NotFound);
            break;
        }
        id = *next;
        found = found || id == info.id;
    }
    CHECK(found);
    const auto by_id = sys::prog_get_fd_by_id(info.id);
    INFO(message_of(by_id));
    REQUIRE(by_id.has_value());
    CHECK(info_of(by_id->get()).id == info.id);
    CHECK(sys::prog_get_fd_by_id(id + 1000000).error().kind() == ErrorKind::NotFound);

    // ENABLE_STATS: an fd; an unknown statistics type is refused.
    const auto stats = sys::enable_stats(BPF_STATS_RUN_TIME);
    INFO(message_of(stats));
    REQUIRE(stats.has_value());
    CHECK(stats->get() >= 3);
    CHECK(sys::enable_stats(1000).error().kind() == ErrorKind::InvalidArgument);
}

TEST_CASE("sys prog_load keeps the log in the caller's buffer") {
    REQUIRE_FEATURE(socket_filter_programs);
    // r0 is never set: the verifier refuses, and says so in the buffer it was given.
    constexpr auto no_return_value = sockfilter::insn::program(sockfilter::insn::exit());
    std::array<char, 4096> log{};
    const sys::ProgLoadRequest request{.program_type = BPF_PROG_TYPE_SOCKET_FILTER,
                                       .insns = no_return_value,
                                       .license = "GPL",
                                       .name = "sys_bad",
                                       .log = log,
                                       .log_level = 1};
    const auto fd = sys::prog_load(request);
    REQUIRE_FALSE(fd.has_value());
    CHECK(fd.error().code() == std::errc::permission_denied);  // EACCES from the verifier
    CHECK(std::string(log.data()).find("R0 !read_ok") != std::string::npos);
    const auto long_name = sys::prog_load({.program_type = BPF_PROG_TYPE_SOCKET_FILTER,
                                           .insns = filters::pass,
                                           .name = "sixteen_chars_xx"});
    REQUIRE_FALSE(long_name.has_value());
    CHECK(long_name.error().kind() == ErrorKind::InvalidArgument);
}
