// SocketFilter on AF_PACKET sockets bound to one end of a veth pair: the filter sees whole Ethernet
// frames and keeps only IPv4 UDP to one destination port, whatever the IP header length.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "veth.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter::insn;
using namespace sockfilter_test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t chosen_port = 4242;
constexpr std::uint16_t other_port = 4243;

// Keeps IPv4 UDP frames to `port` (not non-first fragments, which carry no UDP header); drops the rest.
// Offsets are from the start of the Ethernet header, as an AF_PACKET SOCK_RAW socket sees the packet.
constexpr auto udp_to_port(std::uint16_t port) {
    return program(
        mov64(Reg::R6, Reg::R1),                                   //  0: LD_ABS/LD_IND read through r6
        ld_abs(Size::H, 12),                                       //  1: ethertype
        jmp_imm(Jmp::Ne, Reg::R0, ETH_P_IP, 12),                   //  2: not IPv4 → drop
        ld_abs(Size::B, 14 + 9),                                   //  3: IP protocol
        jmp_imm(Jmp::Ne, Reg::R0, IPPROTO_UDP, 10),                //  4: not UDP → drop
        ld_abs(Size::H, 14 + 6),                                   //  5: flags and fragment offset
        jmp_imm(Jmp::Set, Reg::R0, 0x1fff, 8),                     //  6: non-first fragment → drop
        ld_abs(Size::B, 14),                                       //  7: version and IHL
        alu64_imm(Alu::And, Reg::R0, 0x0f),                        //  8: IHL in 32-bit words
        alu64_imm(Alu::Lsh, Reg::R0, 2),                           //  9: IP header length in bytes
        mov64(Reg::R7, Reg::R0),                                   // 10: r7 survives LD_IND (r1–r5 do not)
        ld_ind(Size::H, Reg::R7, 14 + 2),                          // 11: UDP destination port
        jmp_imm(Jmp::Ne, Reg::R0, port, 2),                        // 12: other port → drop
        ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),  // 13: keep the whole frame
        exit(),                                                    // 14
        mov64_imm(Reg::R0, 0),                                     // 15: drop
        exit());                                                   // 16
}

constexpr auto chosen_port_filter = udp_to_port(chosen_port);

// What both tests start from, in their fresh namespace: the veth pair, and two packet sockets on sfb, one
// with the chosen-port filter attached before it is bound and one without.
struct Capture {
    Veth veth = make_veth();
    SocketFilter filter = loaded("udp_4242", chosen_port_filter);
    OwnedFd filtered = packet_socket(veth.ifindex_b, &filter);
    OwnedFd unfiltered = packet_socket(veth.ifindex_b);
};

sockaddr_in ipv4(const char* address, std::uint16_t port) {
    sockaddr_in out{};
    out.sin_family = AF_INET;
    out.sin_port = htons(port);
    REQUIRE(inet_pton(AF_INET, address, &out.sin_addr) == 1);
    return out;
}

void send_udp_to(const char* address, std::uint16_t port, const std::string& payload) {
    const OwnedFd sender(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(sender);
    const sockaddr_in to = ipv4(address, port);
    REQUIRE(sendto(sender.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(payload.size()));
}

std::uint16_t be16(std::string_view bytes, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) | static_cast<unsigned char>(bytes[at + 1]));
}

std::string ip_text(std::string_view bytes, std::size_t at) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, bytes.data() + at, text, sizeof text);
    return text;
}

// A one-line description of a frame, for comparisons that read well when they fail.
std::string describe(std::string_view frame) {
    if (frame.size() < 14) return "runt of " + std::to_string(frame.size()) + " bytes";
    const std::uint16_t type = be16(frame, 12);
    if (type == ETH_P_ARP && frame.size() >= 42) {
        return "arp op " + std::to_string(be16(frame, 20)) + " for " + ip_text(frame, 38);
    }
    if (type != ETH_P_IP || frame.size() < 34) return "ethertype " + std::to_string(type);
    const std::size_t l4 = 14 + 4 * (static_cast<unsigned char>(frame[14]) & 0x0fu);
    const auto protocol = static_cast<unsigned char>(frame[23]);
    const std::string to = ip_text(frame, 30);
    if (protocol == IPPROTO_UDP && frame.size() >= l4 + 8) {
        return "udp to " + to + ":" + std::to_string(be16(frame, l4 + 2)) + " '" + std::string(frame.substr(l4 + 8)) + "'";
    }
    if (protocol == IPPROTO_TCP && frame.size() >= l4 + 14) {
        return "tcp to " + to + ":" + std::to_string(be16(frame, l4 + 2)) + " flags " +
               std::to_string(static_cast<unsigned char>(frame[l4 + 13]));
    }
    if (protocol == IPPROTO_ICMP && frame.size() >= l4 + 8) {
        return "icmp type " + std::to_string(static_cast<unsigned char>(frame[l4])) + " to " + to + " '" +
               std::string(frame.substr(l4 + 8)) + "'";
    }
    return "ip protocol " + std::to_string(protocol) + " to " + to;
}

std::vector<std::string> describe_all(const std::vector<std::string>& frames) {
    std::vector<std::string> out;
    for (const auto& frame : frames) out.push_back(describe(frame));
    std::ranges::sort(out);
    return out;
}

bool contains(const std::vector<std::string>& haystack, const std::string& needle) {
    return std::ranges::find(haystack, needle) != haystack.end();
}

// Hand-made frames, sent raw out of sfa.
void put16(std::string& out, std::uint16_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xff));
}

std::string ethernet(std::uint16_t type) {
    std::string out(mac_b.begin(), mac_b.end());
    out.append(mac_a.begin(), mac_a.end());
    put16(out, type);
    return out;
}

struct Ipv4 {
    std::uint8_t protocol = IPPROTO_UDP;
    std::uint16_t port = chosen_port;  // destination port
    std::string payload;
    std::string options{};             // a multiple of 4 bytes
    std::uint16_t fragment = 0;        // flags (0x2000 = more fragments) and offset in 8-byte units
};

std::string ipv4_frame(const Ipv4& packet) {
    std::string l4;
    put16(l4, 40000);  // source port
    put16(l4, packet.port);
    if (packet.protocol == IPPROTO_TCP) {
        l4 += std::string("\x00\x00\x00\x01\x00\x00\x00\x00", 8);  // sequence and acknowledgement numbers
        l4 += std::string("\x50\x02\xff\xff\x00\x00\x00\x00", 8);  // data offset 5, SYN, window, checksum, urgent
    } else {
        put16(l4, static_cast<std::uint16_t>(8 + packet.payload.size()));
        put16(l4, 0);  // no checksum
    }
    l4 += packet.payload;

    std::string ip;
    ip.push_back(static_cast<char>(0x40 | (5 + packet.options.size() / 4)));
    ip.push_back(0);
    put16(ip, static_cast<std::uint16_t>(20 + packet.options.size() + l4.size()));
    put16(ip, 0x1234);  // identification
    put16(ip, packet.fragment);
    ip.push_back(64);
    ip.push_back(static_cast<char>(packet.protocol));
    put16(ip, 0);  // checksum, filled below
    ip += std::string("\x0a\xc8\x01\x01", 4);  // 10.200.1.1
    ip += std::string("\x0a\xc8\x01\x63", 4);  // 10.200.1.99
    ip += packet.options;
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < ip.size(); i += 2) sum += be16(ip, i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    const auto checksum = static_cast<std::uint16_t>(~sum & 0xffff);
    ip[10] = static_cast<char>(checksum >> 8);
    ip[11] = static_cast<char>(checksum & 0xff);
    return ethernet(ETH_P_IP) + ip + l4;
}

void send_frame(int sender, unsigned ifindex, const std::string& frame) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(be16(frame, 12));
    to.sll_ifindex = static_cast<int>(ifindex);
    to.sll_halen = ETH_ALEN;
    std::copy(mac_b.begin(), mac_b.end(), to.sll_addr);
    REQUIRE(sendto(sender, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(frame.size()));
}

// Names the frames received by comparing them byte for byte with the ones sent; strays are "unknown".
std::vector<std::string> names_of(const std::vector<std::string>& received,
                                  const std::vector<std::pair<std::string, std::string>>& sent) {
    std::vector<std::string> out;
    for (const auto& frame : received) {
        const auto it = std::ranges::find(sent, frame, &std::pair<std::string, std::string>::second);
        out.push_back(it != sent.end() ? it->first : "unknown: " + describe(frame));
    }
    std::ranges::sort(out);
    return out;
}

std::vector<std::string> without_unknown(std::vector<std::string> names) {
    std::erase_if(names, [](const std::string& name) { return name.starts_with("unknown"); });
    return names;
}

}  // namespace

TEST_CASE("af_packet keeps only udp to the chosen port from kernel traffic") {
    REQUIRE_FEATURE(so_attach_bpf);
    SKIP_UNLESS(run("command -v ip >/dev/null 2>&1") == 0 ? std::string() : std::string("needs iproute2's ip"));
    NetnsScope netns;
    const Capture capture;

    send_udp_to(veth_neighbour, chosen_port, "to chosen 1");
    send_udp_to(veth_neighbour, other_port, "to other port");
    send_udp_to(veth_neighbour, chosen_port, "to chosen 2");
    // Only an ARP request leaves: the datagram waits for a reply that never comes.
    send_udp_to(veth_unresolved, chosen_port, "waits for arp");
    {
        // A TCP SYN to the chosen port: same port, wrong protocol.
        const OwnedFd tcp(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        REQUIRE(tcp);
        const sockaddr_in to = ipv4(veth_neighbour, chosen_port);
        CHECK(connect(tcp.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == -1);
    }
    {
        // An ICMP echo request whose payload would be at the UDP port's offset.
        const OwnedFd icmp(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
        REQUIRE(icmp);
        const std::string echo = std::string("\x08\x00\x00\x00\x00\x01\x00\x01", 8) + "ping payload";
        const sockaddr_in to = ipv4(veth_neighbour, 0);
        REQUIRE(sendto(icmp.get(), echo.data(), echo.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
                static_cast<ssize_t>(echo.size()));
    }
    send_udp_to(veth_neighbour, chosen_port, "to chosen 3");

    const std::vector<std::string> kept = describe_all(receive_all(capture.filtered.get()));
    CHECK(kept == std::vector<std::string>{"udp to 10.200.1.99:4242 'to chosen 1'", "udp to 10.200.1.99:4242 'to chosen 2'",
                                           "udp to 10.200.1.99:4242 'to chosen 3'"});

    // Without the filter the same interface shows everything else too.
    const std::vector<std::string> all = describe_all(receive_all(capture.unfiltered.get()));
    INFO("unfiltered socket saw " << all.size() << " frames");
    for (const char* expected : {"udp to 10.200.1.99:4242 'to chosen 1'", "udp to 10.200.1.99:4242 'to chosen 2'",
                                 "udp to 10.200.1.99:4242 'to chosen 3'", "udp to 10.200.1.99:4243 'to other port'",
                                 "tcp to 10.200.1.99:4242 flags 2", "icmp type 8 to 10.200.1.99 'ping payload'",
                                 "arp op 1 for 10.200.1.98"}) {
        CHECK(contains(all, expected));
    }
    CHECK_FALSE(contains(all, "udp to 10.200.1.98:4242 'waits for arp'"));
}

TEST_CASE("af_packet filter follows the ip header length") {
    REQUIRE_FEATURE(so_attach_bpf);
    SKIP_UNLESS(run("command -v ip >/dev/null 2>&1") == 0 ? std::string() : std::string("needs iproute2's ip"));
    NetnsScope netns;
    const Capture capture;
    const OwnedFd sender(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    REQUIRE(sender);

    // Options whose last two bytes read as the chosen port: a filter that assumed a 20-byte IP header
    // would read them as the destination port.
    const std::string decoy_options = std::string("\x01\x01", 2) + static_cast<char>(chosen_port >> 8) +
                                      static_cast<char>(chosen_port & 0xff);
    // An ARP request whose sender MAC puts 17 (UDP) at the IP protocol's offset.
    std::string arp = ethernet(ETH_P_ARP) + std::string("\x00\x01\x08\x00\x06\x04\x00\x01", 8);
    arp += std::string("\x02\x11\x00\x00\x0a\x01", 6) + std::string("\x0a\xc8\x01\x01", 4);
    arp += std::string(6, '\0') + std::string("\x0a\xc8\x01\x63", 4);
    const std::string full = ipv4_frame({.payload = "truncated"});

    const std::vector<std::pair<std::string, std::string>> frames{
        {"keep: udp ihl 5", ipv4_frame({.payload = "ihl 5"})},
        {"keep: udp ihl 6", ipv4_frame({.payload = "ihl 6", .options = std::string(4, '\x01')})},
        {"keep: udp first fragment", ipv4_frame({.payload = "first fragment", .fragment = 0x2000})},
        {"drop: udp ihl 6 other port", ipv4_frame({.port = other_port, .payload = "decoy", .options = decoy_options})},
        {"drop: udp other port", ipv4_frame({.port = other_port, .payload = "other"})},
        {"drop: tcp", ipv4_frame({.protocol = IPPROTO_TCP, .payload = "tcp"})},
        {"drop: udp later fragment", ipv4_frame({.payload = "later fragment", .fragment = 185})},
        {"drop: arp", arp},
        {"drop: cut before the port", full.substr(0, 14 + 20 + 2)},
    };
    for (const auto& [name, frame] : frames) send_frame(sender.get(), capture.veth.ifindex_a, frame);

    CHECK(names_of(receive_all(capture.filtered.get()), frames) ==
          std::vector<std::string>{"keep: udp first fragment", "keep: udp ihl 5", "keep: udp ihl 6"});
    std::vector<std::string> every_name;
    for (const auto& [name, frame] : frames) every_name.push_back(name);
    std::ranges::sort(every_name);
    CHECK(without_unknown(names_of(receive_all(capture.unfiltered.get()), frames)) == every_name);

    // Once detached, the socket sees the frames the filter used to drop.
    const auto detach = SocketFilter::detach(capture.filtered.get());
    INFO(message_of(detach));
    REQUIRE(detach.has_value());
    send_frame(sender.get(), capture.veth.ifindex_a, frames[3].second);
    send_frame(sender.get(), capture.veth.ifindex_a, frames[7].second);
    CHECK(without_unknown(names_of(receive_all(capture.filtered.get()), frames)) ==
          std::vector<std::string>{"drop: arp", "drop: udp ihl 6 other port"});
}
