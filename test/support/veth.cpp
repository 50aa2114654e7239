// Test support: the veth pair and packet sockets (see veth.hpp).
#include "veth.hpp"

#include <catch2/catch.hpp>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "loaded.hpp"
#include "netns.hpp"
#include "sockets.hpp"

namespace sockfilter_test {

Veth make_veth() {
    // IPv6 off: no router solicitations or DAD probes cross the pair.
    run("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1");
    REQUIRE(run("ip link add sfa address 02:00:00:00:0a:01 type veth peer name sfb address 02:00:00:00:0b:01") == 0);
    REQUIRE(run(std::string("ip addr add ") + address_a + "/24 dev sfa") == 0);
    REQUIRE(run("ip addr add 10.200.2.1/24 dev sfb") == 0);
    REQUIRE(run("ip link set sfa up && ip link set sfb up") == 0);
    REQUIRE(run(std::string("ip neigh add ") + veth_neighbour + " lladdr 02:00:00:00:0b:01 dev sfa nud permanent") == 0);
    const Veth veth{if_nametoindex("sfa"), if_nametoindex("sfb")};
    REQUIRE(veth.ifindex_a != 0);
    REQUIRE(veth.ifindex_b != 0);
    return veth;
}

sockfilter::OwnedFd packet_socket(unsigned ifindex, const sockfilter::SocketFilter* filter) {
    sockfilter::OwnedFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    if (filter != nullptr) {
        const auto attach = filter->attach(fd.get());
        INFO(message_of(attach));
        REQUIRE(attach.has_value());
    }
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(ifindex);
    REQUIRE(bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    set_receive_timeout(fd.get(), std::chrono::milliseconds(300));
    return fd;
}

}  // namespace sockfilter_test
