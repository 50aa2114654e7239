// sockfilter demo: a content filter on a loopback UDP socket, then a test run, the kernel's info about
// the program, and a pin on a private bpffs. Run as root (or with CAP_BPF + CAP_NET_ADMIN + CAP_SYS_ADMIN).
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <string>
#include <vector>

#include "sockfilter/sockfilter.hpp"

namespace {

using namespace sockfilter;
using namespace sockfilter::insn;

// Drops datagrams whose first payload byte is 'X'. A UDP socket's filter sees the 8-byte UDP header at
// offset 0, so the payload starts at offset 8. Everything else is kept whole (return skb->len).
constexpr auto drop_x = program(
    mov64(Reg::R6, Reg::R1),                                       // ld_abs reads the packet through r6
    ld_abs(Size::B, 8),                                            // r0 = first payload byte
    jmp_imm(Jmp::Eq, Reg::R0, 'X', 2),                             // 'X' → skip to "return 0"
    ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),  // r0 = skb->len: keep all
    exit(),
    mov64_imm(Reg::R0, 0),                                         // 0 bytes kept: dropped
    exit());

int failed(const char* step, const Error& error) {
    std::fprintf(stderr, "demo: %s failed: %s\n", step, error.message().c_str());
    return 1;
}

int failed_errno(const char* step) {
    std::fprintf(stderr, "demo: %s failed: %s\n", step, std::strerror(errno));
    return 1;
}

// A private BPF filesystem on a temporary directory: unmounted and removed however the demo ends.
struct TempBpffs {
    std::string dir;
    bool mounted = false;
    ~TempBpffs() {
        if (mounted && umount2(dir.c_str(), MNT_DETACH) != 0) std::perror("demo: umount");
        if (!dir.empty() && rmdir(dir.c_str()) != 0) std::perror("demo: rmdir");
    }
};

// A frame for BPF_PROG_TEST_RUN: an Ethernet header, optionally an IPv4 header, a UDP header, `payload`.
std::vector<std::byte> udp_frame(const std::string& payload, bool with_ip) {
    const std::size_t udp_at = with_ip ? 34 : 14;
    std::vector<std::byte> frame(udp_at + 8 + payload.size());
    auto put = [&](std::size_t at, std::initializer_list<unsigned> bytes) {
        for (unsigned b : bytes) frame[at++] = static_cast<std::byte>(b);
    };
    const auto udp_len = static_cast<unsigned>(8 + payload.size());
    if (with_ip) {
        const unsigned ip_len = 20 + udp_len;
        put(12, {0x08, 0x00});                                                        // EtherType IPv4
        put(14, {0x45, 0, ip_len >> 8, ip_len & 0xff, 0, 0, 0, 0, 64, IPPROTO_UDP});  // IPv4, TTL 64
        put(26, {127, 0, 0, 1, 127, 0, 0, 1});                                        // source, destination
    } else {
        put(12, {0x88, 0xb5});  // EtherType "local experimental": the kernel looks for no IP header
    }
    put(udp_at, {0x30, 0x39, 0x30, 0x39, udp_len >> 8, udp_len & 0xff});  // ports 12345, length
    std::memcpy(frame.data() + udp_at + 8, payload.data(), payload.size());
    return frame;
}

std::string loaded_at_text(const ProgramInfo& info) {
    if (!info.loaded_at()) return "unknown";
    const std::time_t t = std::chrono::system_clock::to_time_t(*info.loaded_at());
    char text[64];
    std::tm local{};
    return std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &local)) ? text : "?";
}

int run() {
    auto filter = SocketFilter::create("demo_drop_x", drop_x);
    if (!filter) return failed("create", filter.error());
    if (auto loaded = filter->load(); !loaded) return failed("load", loaded.error());
    std::printf("Loaded \"%s\": %zu instructions, program fd %d\n", std::string(filter->name()).c_str(),
                filter->instructions().size(), filter->fd()->get().get());

    // A UDP socket on 127.0.0.1 with the filter attached, and a sender.
    OwnedFd receiver(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    OwnedFd sender(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!receiver || !sender) return failed_errno("socket");
    sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
    socklen_t length = sizeof address;
    const timeval timeout{.tv_sec = 0, .tv_usec = 200'000};
    if (bind(receiver.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(receiver.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        setsockopt(receiver.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0)
        return failed_errno("bind");
    if (auto attached = filter->attach(receiver.get()); !attached) return failed("attach", attached.error());
    std::printf("Attached to a UDP socket on 127.0.0.1:%u\n\n", ntohs(address.sin_port));

    const std::vector<std::string> sent{"hello", "X marks the spot", "filters at work", "Xylophone", "bye"};
    for (const std::string& payload : sent) {
        if (sendto(sender.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&address),
                   sizeof address) != static_cast<ssize_t>(payload.size()))
            return failed_errno("sendto");
    }
    std::vector<std::string> arrived;
    std::array<char, 2048> buffer{};
    for (ssize_t n; (n = recv(receiver.get(), buffer.data(), buffer.size(), 0)) >= 0;)
        arrived.emplace_back(buffer.data(), static_cast<std::size_t>(n));
    std::printf("Sent %zu datagrams, %zu arrived:\n", sent.size(), arrived.size());
    for (const std::string& payload : sent) {
        const bool got = std::find(arrived.begin(), arrived.end(), payload) != arrived.end();
        std::printf("  %-8s \"%s\"\n", got ? "arrived" : "DROPPED", payload.c_str());
    }

    // The same program on hand-made frames, without any socket. A test run shows the program the frame
    // from the byte after the Ethernet header on, not from the UDP header as a UDP socket does.
    std::printf("\nTest runs (BPF_PROG_TEST_RUN, mean of 1000 runs):\n");
    for (const bool with_ip : {true, false}) {
        std::printf(with_ip ? "  Ethernet + IPv4 + UDP: the program sees the IPv4 header at offset 0 "
                              "(offset 8 is the TTL)\n"
                            : "  Ethernet + UDP: the program sees what a UDP socket sees (offset 8 is the payload)\n");
        for (const std::string payload : {"hello", "X-ray"}) {
            const auto frame = udp_frame(payload, with_ip);
            const auto result = filter->test_run({.data_in = frame, .repeat = 1000});
            if (!result) return failed("test_run", result.error());
            std::printf("    payload \"%s\", %2zu-byte frame: returned %2u (%s), %lld ns per run\n", payload.c_str(),
                        frame.size(), result->return_value, result->return_value == 0 ? "drop" : "keep",
                        static_cast<long long>(result->duration.count()));
        }
    }

    const auto info = filter->info();
    if (!info) return failed("info", info.error());
    std::printf("\nProgram info:\n  id %u, tag %s, name %s\n  jited %u bytes, translated %u bytes\n",
                info->id(), info->tag_hex().c_str(), std::string(info->name().value_or("?")).c_str(),
                info->size_jitted(), info->size_translated());
    std::printf("  loaded at %s, %s verified instructions, %s bytes memlock\n", loaded_at_text(*info).c_str(),
                info->verified_instruction_count() ? std::to_string(*info->verified_instruction_count()).c_str() : "?",
                info->memory_locked() ? std::to_string(*info->memory_locked()).c_str() : "?");

    // Pin on a private bpffs, open the pin again, and remove it.
    TempBpffs bpffs;
    char dir[] = "/tmp/sockfilter-demo.XXXXXX";
    if (mkdtemp(dir) == nullptr) return failed_errno("mkdtemp");
    bpffs.dir = dir;
    if (mount("bpf", dir, "bpf", 0, nullptr) != 0) return failed_errno("mount -t bpf");
    bpffs.mounted = true;
    const std::string pin_path = bpffs.dir + "/demo_drop_x";
    if (auto pinned = filter->pin(pin_path); !pinned) return failed("pin", pinned.error());
    std::printf("\nPinned at %s\n", pin_path.c_str());
    {
        auto reopened = SocketFilter::from_pin(pin_path);
        if (!reopened) return failed("from_pin", reopened.error());
        const auto again = reopened->info();
        if (!again) return failed("info of the pin", again.error());
        std::printf("  from_pin gives program id %u (%s)\n", again->id(), again->id() == info->id() ? "the same" : "DIFFERENT");
    }
    if (std::system("command -v bpftool >/dev/null 2>&1") == 0) {
        std::printf("  bpftool sees:\n");
        std::fflush(stdout);
        (void)std::system(("bpftool prog show pinned " + pin_path + " | sed 's/^/    /'").c_str());
    }
    if (auto unpinned = filter->unpin(); !unpinned) return failed("unpin", unpinned.error());
    std::printf("Unpinned\n");

    if (auto detached = SocketFilter::detach(receiver.get()); !detached) return failed("detach", detached.error());
    const std::string last = "X after detach";
    if (sendto(sender.get(), last.data(), last.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        return failed_errno("sendto");
    if (recv(receiver.get(), buffer.data(), buffer.size(), 0) <= 0) return failed_errno("receiving after detach");
    std::printf("Detached: \"%s\" arrived\n", last.c_str());
    return 0;
}

}  // namespace

int main() {
    const int status = run();
    if (status == 0) std::printf("\nDone: everything cleaned up.\n");
    return status;
}
