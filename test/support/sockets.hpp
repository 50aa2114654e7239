// Test support: sockets on loopback and unix pairs, and receiving with a timeout.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sockfilter/owned_fd.hpp"

namespace sockfilter_test {

using sockfilter::OwnedFd;

/// A UDP socket bound to 127.0.0.1 on an ephemeral port, with a receive timeout.
struct UdpReceiver {
    OwnedFd fd;
    std::uint16_t port = 0;
};
UdpReceiver udp_receiver(std::chrono::milliseconds timeout = std::chrono::milliseconds(200));
/// An unbound UDP socket for sending.
OwnedFd udp_sender();
/// Sends `payload` from `sender` to 127.0.0.1:port; true when the whole datagram was sent.
bool send_udp(int sender, std::uint16_t port, const std::string& payload);

/// A connected AF_UNIX SOCK_DGRAM pair; the second has the receive timeout.
struct UnixPair {
    OwnedFd sender;
    OwnedFd receiver;
};
UnixPair unix_dgram_pair(std::chrono::milliseconds timeout = std::chrono::milliseconds(200));

/// Sets SO_RCVTIMEO.
void set_receive_timeout(int fd, std::chrono::milliseconds timeout);

/// One recv(); nullopt on timeout or error.
std::optional<std::string> receive(int fd, std::size_t capacity = 2048);
/// Every datagram that arrives until a receive times out.
std::vector<std::string> receive_all(int fd);

/// A TCP listener on 127.0.0.1 (ephemeral port unless given), optionally with SO_REUSEPORT.
struct TcpListener {
    OwnedFd fd;
    std::uint16_t port = 0;
};
TcpListener tcp_listener(bool reuseport = false, std::uint16_t port = 0);
/// A UDP socket bound to 127.0.0.1:port with SO_REUSEPORT (port 0: ephemeral).
UdpReceiver udp_reuseport_receiver(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::milliseconds(200));
/// A TCP client connected to 127.0.0.1:port (blocking connect).
OwnedFd tcp_connect(std::uint16_t port);

}  // namespace sockfilter_test
