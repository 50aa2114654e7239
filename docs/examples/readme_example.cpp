#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <sockfilter/sockfilter.hpp>

static int report(const sockfilter::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());  // operation, errno, and a hint at the cause
    return 1;
}

int main() {
    using namespace sockfilter::insn;
    // A socket filter returns how many bytes of each packet to keep: 64 cuts longer datagrams, 0 drops.
    constexpr auto keep_64 = program(mov64_imm(Reg::R0, 64), exit());

    auto filter = sockfilter::SocketFilter::create("keep_64", keep_64);
    if (!filter) return report(filter.error());
    if (auto loaded = filter->load(); !loaded) return report(loaded.error());  // EPERM: not root?

    const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto attached = filter->attach(udp);  // the socket is borrowed: we still own and close it
    close(udp);                           // closing the socket removes its filter
    return attached ? 0 : report(attached.error());
}
