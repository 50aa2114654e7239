#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <sockfilter/sockfilter.hpp>

static int report(const sockfilter::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());
    return 1;
}

int main(int argc, char** argv) {
    if (argc != 2) return std::fprintf(stderr, "usage: %s count_udp.bpf.o\n", argv[0]), 2;
    // A UDP socket on loopback that will send to itself.
    const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    auto* raw = reinterpret_cast<sockaddr*>(&address);
    if (bind(udp, raw, sizeof address) != 0 || getsockname(udp, raw, &length) != 0) return 1;
    const std::uint16_t port = ntohs(address.sin_port);

    auto object = sockfilter::Object::open(argv[1]);  // parse only: no syscall but the read
    if (!object) return report(object.error());
    if (auto set = object->set_global("port", port); !set) return report(set.error());
    if (auto loaded = object->load(); !loaded) return report(loaded.error());  // BTF, maps, globals

    auto filter = object->socket_filter("keep_port");  // relocated, not loaded yet
    if (!filter) return report(filter.error());
    if (auto loaded = filter->load(); !loaded) return report(loaded.error());  // the verifier runs here
    if (auto attached = filter->attach(udp); !attached) return report(attached.error());

    for (int i = 0; i < 3; ++i) sendto(udp, "hi", 2, 0, raw, sizeof address);
    char buffer[16];
    int received = 0;
    while (recv(udp, buffer, sizeof buffer, MSG_DONTWAIT) == 2) ++received;
    close(udp);

    auto map = object->take_map("seen");
    if (!map) return report(map.error());
    auto seen = sockfilter::HashMap<std::uint16_t, std::uint64_t>::from(std::move(*map));
    if (!seen) return report(seen.error());
    auto count = seen->get(port);
    if (!count) return report(count.error());
    std::printf("%d datagrams received, %llu counted for port %u\n", received, static_cast<unsigned long long>(*count),
                unsigned{port});
    return received == 3 && *count == 3 ? 0 : 1;
}
