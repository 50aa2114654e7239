// Test support: a veth pair in the current (fresh) network namespace and AF_PACKET sockets on it.
#pragma once

#include <array>
#include <cstdint>

#include "sockfilter/owned_fd.hpp"
#include "sockfilter/socket_filter.hpp"

namespace sockfilter_test {

/// sfa (10.200.1.1/24, MAC mac_a) ↔ sfb (10.200.2.1/24, MAC mac_b). Frames sent out of sfa to
/// veth_neighbour arrive on sfb with no ARP (a permanent neighbour entry); IPv6 is off, so nothing else
/// crosses the pair.
struct Veth {
    unsigned ifindex_a = 0;
    unsigned ifindex_b = 0;
};

inline constexpr std::array<std::uint8_t, 6> mac_a{0x02, 0x00, 0x00, 0x00, 0x0a, 0x01};
inline constexpr std::array<std::uint8_t, 6> mac_b{0x02, 0x00, 0x00, 0x00, 0x0b, 0x01};
inline constexpr const char* address_a = "10.200.1.1";
inline constexpr const char* veth_neighbour = "10.200.1.99";   // on sfa's subnet, resolved statically to sfb's MAC
inline constexpr const char* veth_unresolved = "10.200.1.98";  // on sfa's subnet, not resolvable: only ARP goes out

/// Creates the pair (REQUIREs every step) in the current namespace, which must be a fresh one.
Veth make_veth();

/// An AF_PACKET SOCK_RAW socket receiving every frame arriving on (or leaving) `ifindex`, with a 300 ms
/// receive timeout. Created with protocol 0 so that it queues nothing until bound: `filter`, if given,
/// is attached before the first frame can arrive.
sockfilter::OwnedFd packet_socket(unsigned ifindex, const sockfilter::SocketFilter* filter = nullptr);

}  // namespace sockfilter_test
