// Footprint: load, attach and test-run one filter with sockfilter.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "sockfilter/socket_filter.hpp"

int main() {
    using namespace sockfilter::insn;
    constexpr auto program = sockfilter::insn::program(mov64_imm(Reg::R0, 1), exit());
    auto filter = sockfilter::SocketFilter::create("footprint", program);
    if (!filter) return std::puts(filter.error().message().c_str()), 1;
    if (auto loaded = filter->load(); !loaded) return std::puts(loaded.error().message().c_str()), 1;
    const int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (auto attached = filter->attach(sock); !attached) return std::puts(attached.error().message().c_str()), 1;
    std::array<std::byte, 64> frame{};
    const auto run = filter->test_run({.data_in = frame});
    if (!run) return std::puts(run.error().message().c_str()), 1;
    std::printf("sockfilter: return value %u\n", run->return_value);
    close(sock);
    return 0;
}
