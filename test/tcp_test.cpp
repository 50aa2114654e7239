// SocketFilter on TCP sockets: a filter that drops everything holds back the peer's data (the peer
// retransmits it once the filter is gone), a filter on a listener holds back the handshake, and a pass
// filter delivers a whole stream.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"

using namespace sockfilter;
using namespace sockfilter_test;
using namespace std::chrono_literals;

namespace {

OwnedFd accept_one(const TcpListener& listener) {
    OwnedFd accepted(accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted);
    return accepted;
}

// Bytes in the send queue not yet acknowledged by the peer (SIOCOUTQ).
int unacknowledged(int fd) {
    int bytes = -1;
    if (ioctl(fd, SIOCOUTQ, &bytes) != 0) return -1;
    return bytes;
}

tcp_info info_of(int fd) {
    tcp_info info{};
    socklen_t length = sizeof info;
    REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0);
    return info;
}

// Reads until `size` bytes have arrived, the peer closes, or `budget` runs out.
std::string read_up_to(int fd, std::size_t size, std::chrono::milliseconds budget) {
    set_receive_timeout(fd, 100ms);
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (out.size() < size && std::chrono::steady_clock::now() < deadline) {
        std::string chunk(std::min<std::size_t>(size - out.size(), 65536), '\0');
        const auto got = recv(fd, chunk.data(), chunk.size(), 0);
        if (got == 0) break;
        if (got < 0) continue;
        out.append(chunk, 0, static_cast<std::size_t>(got));
    }
    return out;
}

// A loopback connection whose accepted end has `filter` attached (the client's end has none).
struct Connection {
    TcpListener listener;
    OwnedFd client;
    OwnedFd server;
};

Connection connection_filtered_by(const SocketFilter& filter) {
    Connection connection{tcp_listener(), {}, {}};
    connection.client = tcp_connect(connection.listener.port);
    connection.server = accept_one(connection.listener);
    const auto attach = filter.attach(connection.server.get());
    INFO(message_of(attach));
    REQUIRE(attach.has_value());
    return connection;
}

bool wait_until_acknowledged(int fd, std::chrono::milliseconds budget) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (unacknowledged(fd) != 0) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

}  // namespace

TEST_CASE("drop_all on an accepted socket holds data back until detach") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    const SocketFilter drop = loaded("drop_all", filters::drop_all);
    const auto [listener, client, server] = connection_filtered_by(drop);

    std::string message;
    for (int i = 0; i < 100; ++i) message += "segment " + std::to_string(i) + " of the held back data;";
    REQUIRE(send(client.get(), message.data(), message.size(), 0) == static_cast<ssize_t>(message.size()));

    // 700 ms covers the first transmission and at least one retransmission (RTO >= 200 ms): all dropped.
    set_receive_timeout(server.get(), 700ms);
    char byte = 0;
    errno = 0;
    const auto got = recv(server.get(), &byte, 1, 0);
    const int recv_errno = errno;
    CHECK(got == -1);
    CHECK((recv_errno == EAGAIN || recv_errno == EWOULDBLOCK));
    // The receiver never acknowledged anything: the whole message is still in the client's send queue.
    CHECK(unacknowledged(client.get()) == static_cast<int>(message.size()));

    const auto detach = SocketFilter::detach(server.get());
    INFO(message_of(detach));
    REQUIRE(detach.has_value());

    // The next retransmission (backoff: 200, 400, 800 ms, …) gets through, intact and in order.
    CHECK(read_up_to(server.get(), message.size(), 6000ms) == message);
    CHECK(wait_until_acknowledged(client.get(), 1000ms));
    CHECK(info_of(client.get()).tcpi_total_retrans >= 1);

    // The connection is healthy afterwards: the other direction was never filtered, this one no longer is.
    REQUIRE(send(server.get(), "reply", 5, 0) == 5);
    CHECK(read_up_to(client.get(), 5, 2000ms) == "reply");
    REQUIRE(send(client.get(), "more", 4, 0) == 4);
    CHECK(read_up_to(server.get(), 4, 2000ms) == "more");
}

TEST_CASE("drop_all on a listener holds the handshake back until detach") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    const auto listener = tcp_listener();
    const SocketFilter drop = loaded("drop_all", filters::drop_all);
    REQUIRE(drop.attach(listener.fd.get()).has_value());

    const OwnedFd client(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(client);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(listener.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int connected = connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int connect_errno = errno;
    REQUIRE(connected == -1);
    REQUIRE(connect_errno == EINPROGRESS);

    // The SYN is dropped by the listener's filter: no connection within 500 ms (the SYN RTO is 1 s).
    pollfd connecting{client.get(), POLLOUT, 0};
    CHECK(poll(&connecting, 1, 500) == 0);
    pollfd listening{listener.fd.get(), POLLIN, 0};
    CHECK(poll(&listening, 1, 0) == 0);

    REQUIRE(SocketFilter::detach(listener.fd.get()).has_value());
    // The retransmitted SYN (after 1 s, then 3 s) completes the handshake.
    connecting.revents = 0;
    REQUIRE(poll(&connecting, 1, 5000) == 1);
    int error = -1;
    socklen_t length = sizeof error;
    REQUIRE(getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0);
    CHECK(error == 0);
    const OwnedFd server = accept_one(listener);
    CHECK(info_of(client.get()).tcpi_total_retrans >= 1);

    // The accepted socket inherited no filter: the slot was empty when it was created.
    const auto inherited = SocketFilter::detach(server.get());
    REQUIRE_FALSE(inherited.has_value());
    CHECK(inherited.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("pass on a tcp socket delivers the whole stream") {
    REQUIRE_FEATURE(enable_stats);
    NetnsScope netns;
    const auto stats = enable_stats();
    INFO((stats ? std::string() : stats.error().message()));
    REQUIRE(stats.has_value());

    const SocketFilter pass = loaded("pass", filters::pass);
    const auto [listener, client, server] = connection_filtered_by(pass);

    // 1 MiB of a pattern that shows reordering or loss, sent while the main thread reads.
    std::string stream(1u << 20, '\0');
    for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    bool sent_all = false;
    std::thread sender([&] {
        std::size_t at = 0;
        while (at < stream.size()) {
            const auto sent = send(client.get(), stream.data() + at, stream.size() - at, MSG_NOSIGNAL);
            if (sent <= 0) return;
            at += static_cast<std::size_t>(sent);
        }
        sent_all = shutdown(client.get(), SHUT_WR) == 0;
    });
    const std::string received = read_up_to(server.get(), stream.size() + 1, 20000ms);
    sender.join();
    CHECK(sent_all);
    CHECK(received.size() == stream.size());
    // The first differing byte (npos when the streams are equal), rather than 2 MiB of output on failure.
    const auto mismatch = std::ranges::mismatch(received, stream).in1;
    const auto differs_at = mismatch == received.end() && received.size() == stream.size()
                                ? std::string::npos
                                : static_cast<std::size_t>(mismatch - received.begin());
    CHECK(differs_at == std::string::npos);

    // The filter really ran on the server's incoming segments.
    const auto info = pass.info();
    INFO((info ? std::string() : info.error().message()));
    REQUIRE(info.has_value());
    REQUIRE(info->run_count().has_value());
    CHECK(*info->run_count() > 0);
}
