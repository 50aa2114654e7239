#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <sockfilter/sockfilter.hpp>

static int report(const sockfilter::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());
    return 1;
}

int main() {
    using namespace sockfilter::insn;
    auto map = sockfilter::Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
                                        .max_entries = 1, .name = "packets"});
    if (!map) return report(map.error());
    auto counts = sockfilter::Array<std::uint64_t>::from(std::move(*map));  // checks type and sizes
    if (!counts) return report(counts.error());

    // ++packets[0] for every packet, then keep it whole.
    const auto counting = program(
        mov64(Reg::R6, Reg::R1),
        st_mem(Size::W, Reg::R10, -4, 0),                     // key = 0, on the stack
        mov64(Reg::R2, Reg::R10), alu64_imm(Alu::Add, Reg::R2, -4),
        ld_map_fd(Reg::R1, counts->map().fd().get()),          // the map, by fd
        call(BPF_FUNC_map_lookup_elem),
        jmp_imm(Jmp::Eq, Reg::R0, 0, 2),
        mov64_imm(Reg::R1, 1), atomic_add(Size::DW, Reg::R0, Reg::R1, 0),
        ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
        exit());
    auto filter = sockfilter::SocketFilter::create("count", counting);
    if (!filter) return report(filter.error());
    if (auto loaded = filter->load(); !loaded) return report(loaded.error());

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return 1;
    auto attached = filter->attach(pair[1]);
    for (int i = 0; attached && i < 3; ++i) send(pair[0], "ping", 4, 0);
    close(pair[0]);
    close(pair[1]);
    if (!attached) return report(attached.error());

    const auto packets = counts->get(0);  // Result<std::uint64_t>
    if (!packets) return report(packets.error());
    std::printf("%llu packets\n", static_cast<unsigned long long>(*packets));
    return *packets == 3 ? 0 : 1;
}
