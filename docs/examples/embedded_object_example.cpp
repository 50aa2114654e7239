#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <utility>
#include <sockfilter/sockfilter.hpp>

#include "port_filter.bpf.hpp"  // generated at build time: embedded::port_filter(), the object's bytes

static int report(const sockfilter::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());
    return 1;
}

static sockaddr_in loopback(std::uint16_t port) {
    return {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
}

// A UDP socket bound to 127.0.0.1 on a port the kernel picks; the port comes back in host byte order.
static int udp_on_loopback(std::uint16_t& port) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
    port = ntohs(address.sin_port);
    return fd;
}

static void send_to(int from, std::uint16_t port) {
    const sockaddr_in to = loopback(port);
    sendto(from, "ping", 4, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

int main() {
    std::uint16_t accepted_port = 0, other_port = 0, sender_port = 0;
    const int accepting = udp_on_loopback(accepted_port), other = udp_on_loopback(other_port);
    const int sender = udp_on_loopback(sender_port);
    if (accepting < 0 || other < 0 || sender < 0) return 1;

    // The object is part of this binary: no file is read at run time.
    auto object = sockfilter::Object::from_bytes(embedded::port_filter(), "port_filter");
    if (!object) return report(object.error());
    // accept_port is a const volatile global in .rodata: set before load(), a constant for the verifier.
    if (auto set = object->set_global("accept_port", accepted_port); !set) return report(set.error());
    if (auto loaded = object->load(); !loaded) return report(loaded.error());  // creates the maps
    auto filter = object->socket_filter("filter_port");
    if (!filter) return report(filter.error());
    if (auto loaded = filter->load(); !loaded) return report(loaded.error());

    // One program on both sockets: it keeps datagrams to accepted_port and drops the others.
    for (const int fd : {accepting, other}) {
        if (auto attached = filter->attach(fd); !attached) return report(attached.error());
    }
    send_to(sender, other_port);
    send_to(sender, accepted_port);

    char payload[16];
    const timeval one_second{.tv_sec = 1, .tv_usec = 0};
    setsockopt(accepting, SOL_SOCKET, SO_RCVTIMEO, &one_second, sizeof one_second);
    const ssize_t received = recv(accepting, payload, sizeof payload, 0);         // "ping"
    const ssize_t dropped = recv(other, payload, sizeof payload, MSG_DONTWAIT);  // -1: nothing came

    // The program's own count, in .bss: __u64 accepted, then __u64 dropped.
    struct Counts { std::uint64_t accepted, dropped; };
    auto bss_map = object->take_map(".bss");
    if (!bss_map) return report(bss_map.error());
    auto counts = sockfilter::Array<Counts>::from(std::move(*bss_map));  // checks the value size: 16
    if (!counts) return report(counts.error());
    const auto bss = counts->get(0);  // a global data map has one element, the whole section
    if (!bss) return report(bss.error());
    std::printf("port %u: received %zd bytes; port %u: %s; the filter counted %llu accepted, %llu dropped\n",
                accepted_port, received, other_port, dropped < 0 ? "nothing" : "a datagram",
                static_cast<unsigned long long>(bss->accepted), static_cast<unsigned long long>(bss->dropped));
    for (const int fd : {accepting, other, sender}) close(fd);
    return received == 4 && dropped < 0 && bss->accepted == 1 && bss->dropped == 1 ? 0 : 1;
}
