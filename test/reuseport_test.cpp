// ReusePortSocketFilter on TCP and UDP SO_REUSEPORT groups: steering, replacement, detach from another
// member, refusal without SO_REUSEPORT, and the independence of the group slot from each socket's filter.
#include <catch2/catch.hpp>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/reuseport_socket_filter.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

// How many new connections or datagrams each member of a two-socket group received.
struct Landed {
    int first = 0;
    int second = 0;
};

// Opens `count` connections (each from its own ephemeral port, so the kernel's hash varies) and accepts
// them from whichever listener the kernel chose, until all are accounted for or two seconds pass.
Landed connect_and_count(const TcpListener& first, const TcpListener& second, int count) {
    std::vector<OwnedFd> clients;
    for (int i = 0; i < count; ++i) clients.push_back(tcp_connect(first.port));
    Landed landed;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (landed.first + landed.second < count && std::chrono::steady_clock::now() < deadline) {
        std::array<pollfd, 2> fds{pollfd{first.fd.get(), POLLIN, 0}, pollfd{second.fd.get(), POLLIN, 0}};
        if (poll(fds.data(), fds.size(), 100) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) continue;
            const OwnedFd accepted(accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC));
            if (!accepted) continue;
            ++(i == 0 ? landed.first : landed.second);
        }
    }
    return landed;
}

// The payloads each member of a UDP group received, sorted.
struct Received {
    std::vector<std::string> first;
    std::vector<std::string> second;
};

// Sends `count` datagrams "<tag> <i>", each from a fresh socket (so from its own ephemeral port), and
// collects what each member of the group received.
Received send_and_collect(const UdpReceiver& first, const UdpReceiver& second, const std::string& tag, int count) {
    for (int i = 0; i < count; ++i) {
        const OwnedFd sender = udp_sender();
        REQUIRE(send_udp(sender.get(), first.port, tag + " " + std::to_string(i)));
    }
    Received received{receive_all(first.fd.get()), receive_all(second.fd.get())};
    std::ranges::sort(received.first);
    std::ranges::sort(received.second);
    return received;
}

std::vector<std::string> payloads(const std::string& tag, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) out.push_back(tag + " " + std::to_string(i));
    std::ranges::sort(out);
    return out;
}

// The two programs of the steering tests: one picks the group's second socket, the other its first.
struct Steering {
    ReusePortSocketFilter select_second = loaded<ReusePortSocketFilter>("select_second", filters::return_constant<1>);
    ReusePortSocketFilter select_first = loaded<ReusePortSocketFilter>("select_first", filters::return_constant<0>);
};

constexpr int steered = 8;   // connections or datagrams sent while a program picks the socket
constexpr int hashed = 32;   // sent while the kernel hashes: all on one socket has probability 2^-31

}  // namespace

TEST_CASE("tcp group steered by the program") {
    REQUIRE_FEATURE(so_detach_reuseport_bpf);
    NetnsScope netns;
    const auto first = tcp_listener(true);
    const auto second = tcp_listener(true, first.port);
    REQUIRE(second.port == first.port);
    const Steering steering;

    const auto attach = steering.select_second.attach(first.fd.get());
    INFO(message_of(attach));
    REQUIRE(attach.has_value());
    Landed landed = connect_and_count(first, second, steered);
    CHECK(landed.first == 0);
    CHECK(landed.second == steered);

    // A second attach replaces the group's program: the latest one picks.
    const auto replace = steering.select_first.attach(second.fd.get());
    INFO(message_of(replace));
    REQUIRE(replace.has_value());
    landed = connect_and_count(first, second, steered);
    CHECK(landed.first == steered);
    CHECK(landed.second == 0);

    // Detaching through the member the program was not attached on clears the group-wide slot.
    const auto detach = ReusePortSocketFilter::detach(first.fd.get());
    INFO(message_of(detach));
    REQUIRE(detach.has_value());
    landed = connect_and_count(first, second, hashed);
    CHECK(landed.first + landed.second == hashed);
    CHECK(landed.first > 0);
    CHECK(landed.second > 0);

    const auto again = ReusePortSocketFilter::detach(second.fd.get());
    REQUIRE_FALSE(again.has_value());
    INFO(again.error().message());
    CHECK(again.error().kind() == ErrorKind::NotFound);
    CHECK(again.error().code() == std::errc::no_such_file_or_directory);
    CHECK(again.error().operation() == "SO_DETACH_REUSEPORT_BPF");
}

TEST_CASE("udp group steered by the program") {
    REQUIRE_FEATURE(so_detach_reuseport_bpf);
    NetnsScope netns;
    const auto first = udp_reuseport_receiver(0);
    const auto second = udp_reuseport_receiver(first.port);
    REQUIRE(second.port == first.port);
    const Steering steering;

    const auto attach = steering.select_second.attach(first.fd.get());
    INFO(message_of(attach));
    REQUIRE(attach.has_value());
    Received received = send_and_collect(first, second, "to second", steered);
    CHECK(received.first.empty());
    CHECK(received.second == payloads("to second", steered));

    const auto replace = steering.select_first.attach(second.fd.get());
    INFO(message_of(replace));
    REQUIRE(replace.has_value());
    received = send_and_collect(first, second, "to first", steered);
    CHECK(received.first == payloads("to first", steered));
    CHECK(received.second.empty());

    const auto detach = ReusePortSocketFilter::detach(first.fd.get());
    INFO(message_of(detach));
    REQUIRE(detach.has_value());
    received = send_and_collect(first, second, "hashed", hashed);
    std::vector<std::string> all = received.first;
    all.insert(all.end(), received.second.begin(), received.second.end());
    std::ranges::sort(all);
    CHECK(all == payloads("hashed", hashed));
    CHECK_FALSE(received.first.empty());
    CHECK_FALSE(received.second.empty());

    const auto again = ReusePortSocketFilter::detach(second.fd.get());
    REQUIRE_FALSE(again.has_value());
    INFO(again.error().message());
    CHECK(again.error().kind() == ErrorKind::NotFound);
    CHECK(again.error().code() == std::errc::no_such_file_or_directory);
}

TEST_CASE("attach without SO_REUSEPORT is refused") {
    REQUIRE_FEATURE(so_detach_reuseport_bpf);
    NetnsScope netns;
    const auto select_second = loaded<ReusePortSocketFilter>("select_second", filters::return_constant<1>);
    const auto tcp = tcp_listener(false);
    const auto udp = udp_receiver();

    for (const int plain : {tcp.fd.get(), udp.fd.get()}) {
        const auto attach = select_second.attach(plain);
        REQUIRE_FALSE(attach.has_value());
        const std::string message = attach.error().message();
        INFO(message);
        CHECK(attach.error().kind() == ErrorKind::InvalidArgument);
        CHECK(attach.error().code() == std::errc::invalid_argument);
        CHECK(attach.error().operation() == "SO_ATTACH_REUSEPORT_EBPF");
        CHECK(message.find("SO_REUSEPORT") != std::string::npos);

        // Without a group there is nothing to detach either: the kernel says EINVAL, not ENOENT.
        const auto detach = ReusePortSocketFilter::detach(plain);
        REQUIRE_FALSE(detach.has_value());
        INFO(detach.error().message());
        CHECK(detach.error().kind() == ErrorKind::InvalidArgument);
    }

    // A program that was never loaded is refused before any syscall.
    auto unloaded = ReusePortSocketFilter::create("never_loaded", filters::return_constant<0>);
    REQUIRE(unloaded.has_value());
    const auto group = udp_reuseport_receiver(0);
    const auto not_loaded = unloaded->attach(group.fd.get());
    REQUIRE_FALSE(not_loaded.has_value());
    CHECK(not_loaded.error().kind() == ErrorKind::NotLoaded);
}

TEST_CASE("socket filter and reuseport slots are independent") {
    REQUIRE_FEATURE(so_detach_reuseport_bpf);
    NetnsScope netns;
    const auto first = udp_reuseport_receiver(0);
    const auto second = udp_reuseport_receiver(first.port);
    const auto select_second = loaded<ReusePortSocketFilter>("select_second", filters::return_constant<1>);
    const auto drop = loaded<SocketFilter>("drop_all", filters::drop_all);

    REQUIRE(select_second.attach(first.fd.get()).has_value());
    REQUIRE(drop.attach(second.fd.get()).has_value());

    // The group program routes everything to the second socket, whose own filter drops it all: nothing
    // falls back to the first socket.
    Received received = send_and_collect(first, second, "dropped", steered);
    CHECK(received.first.empty());
    CHECK(received.second.empty());

    // Detaching the socket filter leaves the group program in place.
    const auto detach_filter = SocketFilter::detach(second.fd.get());
    INFO(message_of(detach_filter));
    REQUIRE(detach_filter.has_value());
    received = send_and_collect(first, second, "steered", steered);
    CHECK(received.first.empty());
    CHECK(received.second == payloads("steered", steered));

    // And vice versa: detaching the group program leaves the socket filter in place.
    REQUIRE(drop.attach(second.fd.get()).has_value());
    const auto detach_group = ReusePortSocketFilter::detach(second.fd.get());
    INFO(message_of(detach_group));
    REQUIRE(detach_group.has_value());
    received = send_and_collect(first, second, "hashed", hashed);
    CHECK(received.second.empty());                                  // still filtered
    CHECK_FALSE(received.first.empty());                             // hashing reaches the first again
    CHECK(received.first.size() < static_cast<std::size_t>(hashed));  // those hashed to the second were dropped

    const auto detach_again = SocketFilter::detach(second.fd.get());
    INFO(message_of(detach_again));
    CHECK(detach_again.has_value());
    const auto group_again = ReusePortSocketFilter::detach(first.fd.get());
    REQUIRE_FALSE(group_again.has_value());
    CHECK(group_again.error().kind() == ErrorKind::NotFound);
    const auto filter_again = SocketFilter::detach(second.fd.get());
    REQUIRE_FALSE(filter_again.has_value());
    CHECK(filter_again.error().kind() == ErrorKind::NotFound);
}
