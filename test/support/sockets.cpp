// Loopback and unix sockets for the kernel tests.
#include "sockets.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace sockfilter_test {

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

OwnedFd checked_socket(int domain, int type) {
    const int fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    return OwnedFd(fd);
}

std::uint16_t bound_port(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) throw std::runtime_error("getsockname");
    return ntohs(address.sin_port);
}

void bind_loopback(int fd, std::uint16_t port, bool reuseport) {
    const int one = 1;
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) throw std::runtime_error("SO_REUSEPORT");
    const sockaddr_in address = loopback(port);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("bind failed");
}

}  // namespace

void set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

namespace {
UdpReceiver bound_udp(std::uint16_t port, bool reuseport, std::chrono::milliseconds timeout) {
    UdpReceiver receiver{checked_socket(AF_INET, SOCK_DGRAM), 0};
    bind_loopback(receiver.fd.get(), port, reuseport);
    receiver.port = bound_port(receiver.fd.get());
    set_receive_timeout(receiver.fd.get(), timeout);
    return receiver;
}
}  // namespace

UdpReceiver udp_receiver(std::chrono::milliseconds timeout) { return bound_udp(0, false, timeout); }

UdpReceiver udp_reuseport_receiver(std::uint16_t port, std::chrono::milliseconds timeout) {
    return bound_udp(port, true, timeout);
}

OwnedFd udp_sender() { return checked_socket(AF_INET, SOCK_DGRAM); }

bool send_udp(int sender, std::uint16_t port, const std::string& payload) {
    const sockaddr_in address = loopback(port);
    const auto sent = sendto(sender, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&address),
                             sizeof address);
    return sent == static_cast<ssize_t>(payload.size());
}

UnixPair unix_dgram_pair(std::chrono::milliseconds timeout) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair failed");
    UnixPair pair{OwnedFd(fds[0]), OwnedFd(fds[1])};
    set_receive_timeout(pair.receiver.get(), timeout);
    return pair;
}

std::optional<std::string> receive(int fd, std::size_t capacity) {
    std::string buffer(capacity, '\0');
    const auto got = recv(fd, buffer.data(), buffer.size(), 0);
    if (got < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(got));
    return buffer;
}

std::vector<std::string> receive_all(int fd) {
    std::vector<std::string> out;
    while (auto one = receive(fd)) out.push_back(std::move(*one));
    return out;
}

TcpListener tcp_listener(bool reuseport, std::uint16_t port) {
    TcpListener listener{checked_socket(AF_INET, SOCK_STREAM), 0};
    bind_loopback(listener.fd.get(), port, reuseport);
    if (listen(listener.fd.get(), 64) != 0) throw std::runtime_error("listen failed");
    listener.port = bound_port(listener.fd.get());
    return listener;
}

OwnedFd tcp_connect(std::uint16_t port) {
    OwnedFd fd = checked_socket(AF_INET, SOCK_STREAM);
    const sockaddr_in address = loopback(port);
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error("connect failed");
    }
    return fd;
}

}  // namespace sockfilter_test
