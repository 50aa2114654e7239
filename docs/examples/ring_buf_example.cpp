#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sockfilter/sockfilter.hpp>

static int report(const sockfilter::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());
    return 1;
}

int main() {
    using namespace sockfilter::insn;
    auto map = sockfilter::Map::create({.type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096, .name = "lengths"});
    if (!map) return report(map.error());
    auto ring = sockfilter::RingBuf::create(std::move(*map));  // checks the type, maps the ring
    if (!ring) return report(ring.error());

    // bpf_ringbuf_output(ring, &skb->len, 4, 0) for every packet, then keep it whole.
    const auto recording = program(
        mov64(Reg::R6, Reg::R1),
        ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
        stx_mem(Size::W, Reg::R10, Reg::R0, -4),              // the record, on the stack
        ld_map_fd(Reg::R1, ring->fd()),
        mov64(Reg::R2, Reg::R10), alu64_imm(Alu::Add, Reg::R2, -4),
        mov64_imm(Reg::R3, 4), mov64_imm(Reg::R4, 0),
        call(BPF_FUNC_ringbuf_output),
        ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
        exit());
    auto filter = sockfilter::SocketFilter::create("record", recording);
    if (!filter) return report(filter.error());
    if (auto loaded = filter->load(); !loaded) return report(loaded.error());

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return 1;
    auto attached = filter->attach(pair[1]);
    for (int i = 1; attached && i <= 3; ++i) send(pair[0], "ping!", static_cast<std::size_t>(i), 0);
    close(pair[0]);
    close(pair[1]);
    if (!attached) return report(attached.error());

    std::uint32_t total = 0;
    // Waits up to 1 s for data, then hands every record over in place (a span into the ring).
    const auto records = ring->poll(std::chrono::milliseconds(1000), [&](std::span<const std::byte> record) {
        std::uint32_t length = 0;
        std::memcpy(&length, record.data(), sizeof length);
        std::printf("packet of %u bytes\n", length);
        total += length;
    });
    if (!records) return report(records.error());
    return *records == 3 && total == 6 ? 0 : 1;
}
