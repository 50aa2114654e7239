// SocketFilter on loopback UDP and unix sockets: pass, trim, drop by content, replacement and detach.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {
// Runs of the program so far (statistics must be on).
std::uint64_t run_count(const Program& program) {
    const auto info = program.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    REQUIRE(info->run_count().has_value());
    return *info->run_count();
}
}  // namespace

TEST_CASE("pass") {
    REQUIRE_FEATURE(enable_stats);
    NetnsScope netns;
    // A pass filter delivers what no filter would: count its runs, so a no-op attach cannot pass.
    const auto stats = enable_stats();
    INFO(message_of(stats));
    REQUIRE(stats.has_value());
    const SocketFilter filter = loaded("pass", filters::pass);

    SECTION("unix datagram pair") {
        auto pair = unix_dgram_pair();
        REQUIRE(filter.attach(pair.receiver.get()).has_value());
        REQUIRE(send(pair.sender.get(), "hello, filter", 13, 0) == 13);
        CHECK(receive(pair.receiver.get()) == std::optional<std::string>("hello, filter"));
        CHECK(run_count(filter) == 1);
        CHECK(SocketFilter::detach(pair.receiver.get()).has_value());  // it was in the slot
    }
    SECTION("loopback UDP") {
        auto receiver = udp_receiver();
        auto sender = udp_sender();
        REQUIRE(filter.attach(receiver.fd.get()).has_value());
        REQUIRE(send_udp(sender.get(), receiver.port, "a whole datagram"));
        CHECK(receive(receiver.fd.get()) == std::optional<std::string>("a whole datagram"));
        CHECK(run_count(filter) == 1);
        CHECK(SocketFilter::detach(receiver.fd.get()).has_value());
    }
}

TEST_CASE("trim and detach") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    // On UDP the filter sees the 8-byte UDP header too: skb->len - 4 keeps all but the last 4 payload bytes.
    const SocketFilter filter = loaded("trim4", filters::trim_tail<4>);
    auto receiver = udp_receiver();
    auto sender = udp_sender();
    REQUIRE(filter.attach(receiver.fd.get()).has_value());
    REQUIRE(send_udp(sender.get(), receiver.port, "0123456789"));
    CHECK(receive(receiver.fd.get()) == std::optional<std::string>("012345"));

    REQUIRE(SocketFilter::detach(receiver.fd.get()).has_value());
    REQUIRE(send_udp(sender.get(), receiver.port, "0123456789"));
    CHECK(receive(receiver.fd.get()) == std::optional<std::string>("0123456789"));
}

TEST_CASE("drop by content") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    // Offset 8: the first payload byte after the UDP header, in a UDP socket's view of the packet.
    const SocketFilter filter = loaded("drop_x", filters::drop_if_byte<8, 'X'>);
    auto receiver = udp_receiver();
    auto sender = udp_sender();
    REQUIRE(filter.attach(receiver.fd.get()).has_value());
    for (const char* payload : {"keep 1", "X drop 1", "keep 2", "X drop 2", "Xdrop 3", "keep 3"}) {
        REQUIRE(send_udp(sender.get(), receiver.port, payload));
    }
    CHECK(receive_all(receiver.fd.get()) == std::vector<std::string>{"keep 1", "keep 2", "keep 3"});
}

TEST_CASE("replace unload destroy detach") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    auto receiver = udp_receiver();
    auto sender = udp_sender();
    {
        SocketFilter drop = loaded("drop_all", filters::drop_all);
        SocketFilter trim = loaded("trim2", filters::trim_tail<2>);
        REQUIRE(drop.attach(receiver.fd.get()).has_value());
        REQUIRE(send_udp(sender.get(), receiver.port, "dropped"));
        CHECK_FALSE(receive(receiver.fd.get()).has_value());

        REQUIRE(trim.attach(receiver.fd.get()).has_value());  // replaces drop_all in the one slot
        REQUIRE(send_udp(sender.get(), receiver.port, "trimmed!"));
        CHECK(receive(receiver.fd.get()) == std::optional<std::string>("trimme"));

        REQUIRE(drop.unload().has_value());  // A is no longer attached: nothing changes
        CHECK(drop.unload().error().kind() == ErrorKind::NotLoaded);
        REQUIRE(send_udp(sender.get(), receiver.port, "still trimmed"));
        CHECK(receive(receiver.fd.get()) == std::optional<std::string>("still trimm"));
    }
    // Both SocketFilter objects are gone; the socket holds its own reference to the program.
    REQUIRE(send_udp(sender.get(), receiver.port, "after destroy"));
    CHECK(receive(receiver.fd.get()) == std::optional<std::string>("after destr"));

    REQUIRE(SocketFilter::detach(receiver.fd.get()).has_value());
    REQUIRE(send_udp(sender.get(), receiver.port, "whole again"));
    CHECK(receive(receiver.fd.get()) == std::optional<std::string>("whole again"));

    const auto again = SocketFilter::detach(receiver.fd.get());
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().kind() == ErrorKind::NotFound);
    CHECK(again.error().code() == std::errc::no_such_file_or_directory);
    CHECK(again.error().message().find("no filter is attached") != std::string::npos);
}

namespace {
// A socket wrapper in the style of Asio: sockfilter borrows its native_handle().
class WrappedSocket {
public:
    explicit WrappedSocket(OwnedFd fd) : fd_(std::move(fd)) {}
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }

private:
    OwnedFd fd_;
};
}  // namespace

TEST_CASE("attach and detach through native_handle") {
    REQUIRE_FEATURE(so_attach_bpf);
    const SocketFilter filter = loaded("drop_all", filters::drop_all);
    auto pair = unix_dgram_pair();
    const WrappedSocket receiver(std::move(pair.receiver));
    REQUIRE(filter.attach(receiver).has_value());
    REQUIRE(send(pair.sender.get(), "dropped", 7, 0) == 7);
    CHECK_FALSE(receive(receiver.native_handle()).has_value());

    REQUIRE(SocketFilter::detach(receiver).has_value());
    REQUIRE(send(pair.sender.get(), "arrives", 7, 0) == 7);
    CHECK(receive(receiver.native_handle()) == std::optional<std::string>("arrives"));
    // The socket was borrowed, never closed: the wrapper still owns a working fd.
    CHECK(fcntl(receiver.native_handle(), F_GETFD) >= 0);
}

TEST_CASE("attach to something that is not a socket") {
    REQUIRE_FEATURE(so_attach_bpf);
    const SocketFilter filter = loaded("pass", filters::pass);
    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
    const OwnedFd read_end(pipe_fds[0]);
    const OwnedFd write_end(pipe_fds[1]);
    const auto attached = filter.attach(read_end.get());
    REQUIRE_FALSE(attached.has_value());
    CHECK(attached.error().code() == std::errc::not_a_socket);
    CHECK(attached.error().message().find("not a socket") != std::string::npos);

    const auto closed = filter.attach(-1);
    REQUIRE_FALSE(closed.has_value());
    CHECK(closed.error().code() == std::errc::bad_file_descriptor);
}

TEST_CASE("attach before load and the defaults") {
    static_assert(SocketFilter::PROGRAM_TYPE == BPF_PROG_TYPE_SOCKET_FILTER);
    REQUIRE_FEATURE(gpl_compatible_info);
    auto created_filter = SocketFilter::create("defaults", filters::pass);  // no license given: "GPL"
    INFO(message_of(created_filter));
    REQUIRE(created_filter.has_value());
    SocketFilter filter = std::move(*created_filter);
    CHECK(filter.license() == "GPL");
    CHECK_FALSE(filter.is_loaded());
    auto pair = unix_dgram_pair();
    const auto early = filter.attach(pair.receiver.get());
    REQUIRE_FALSE(early.has_value());
    INFO(early.error().message());
    CHECK(early.error().kind() == ErrorKind::NotLoaded);
    CHECK(early.error().code().value() == 0);
    // Nothing reached the socket: its slot is still empty.
    CHECK(SocketFilter::detach(pair.receiver.get()).error().kind() == ErrorKind::NotFound);

    REQUIRE(filter.load().has_value());
    const auto info = filter.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    CHECK(info->program_type() == SocketFilter::PROGRAM_TYPE);
    CHECK(info->gpl_compatible() == std::optional<bool>(true));  // the default license reached the kernel
}
