// RingBuf against the kernel: socket filters write records with bpf_ringbuf_output (and reserve/discard/
// submit) for UDP datagrams on loopback, and the tests read them back: order, contents, wrapping, discarded
// records, stopping early, polling, concurrent producers and the map type check.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/ring_buf.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter::insn;
using namespace sockfilter_test;
using namespace std::chrono_literals;

namespace {

// What output_filter writes per datagram: skb->len, then the first 8 payload bytes (sender, sequence).
// 12 bytes, so each record takes 8 (header) + 16 (12 rounded up to 8) = 24 bytes of the ring.
struct Record {
    std::uint32_t length;
    std::uint32_t sender;
    std::uint32_t sequence;
};
static_assert(sizeof(Record) == 12);
constexpr std::size_t record_footprint = 24;

// r6 = skb; fp-16: skb->len; fp-12..fp-4: bpf_skb_load_bytes(skb, 8, fp-12, 8) (8 = the first UDP payload
// byte in a socket filter's view); bpf_ringbuf_output(map, fp-16, 12, 0). Keeps every packet whole.
auto output_filter(int map_fd) {
    return program(mov64(Reg::R6, Reg::R1),
                   ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
                   stx_mem(Size::W, Reg::R10, Reg::R0, -16),
                   mov64(Reg::R1, Reg::R6),
                   mov64_imm(Reg::R2, 8),
                   mov64(Reg::R3, Reg::R10),
                   alu64_imm(Alu::Add, Reg::R3, -12),
                   mov64_imm(Reg::R4, 8),
                   call(BPF_FUNC_skb_load_bytes),
                   jmp_imm(Jmp::Ne, Reg::R0, 0, 7),  // shorter than 8 payload bytes: no record
                   ld_map_fd(Reg::R1, map_fd),
                   mov64(Reg::R2, Reg::R10),
                   alu64_imm(Alu::Add, Reg::R2, -16),
                   mov64_imm(Reg::R3, sizeof(Record)),
                   mov64_imm(Reg::R4, 0),
                   call(BPF_FUNC_ringbuf_output),
                   ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
                   exit());
}

// Reserves 8 bytes per datagram and writes {skb->len, 0x5eed}; submits it when skb->len is even and
// discards it when odd (bpf_ringbuf_reserve, _submit, _discard).
auto discard_odd_filter(int map_fd) {
    return program(mov64(Reg::R6, Reg::R1),
                   ld_map_fd(Reg::R1, map_fd),
                   mov64_imm(Reg::R2, 8),
                   mov64_imm(Reg::R3, 0),
                   call(BPF_FUNC_ringbuf_reserve),
                   jmp_imm(Jmp::Eq, Reg::R0, 0, 9),  // ring full: no record
                   ldx_mem(Size::W, Reg::R7, Reg::R6, offsetof(__sk_buff, len)),
                   stx_mem(Size::W, Reg::R0, Reg::R7, 0),
                   st_mem(Size::W, Reg::R0, 4, 0x5eed),
                   mov64(Reg::R1, Reg::R0),
                   mov64_imm(Reg::R2, 0),
                   jmp_imm(Jmp::Set, Reg::R7, 1, 2),  // odd length → discard
                   call(BPF_FUNC_ringbuf_submit),
                   ja(1),
                   call(BPF_FUNC_ringbuf_discard),
                   ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
                   exit());
}

Map ring_map(std::uint32_t pages) {
    return created_map({.type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096 * pages, .name = "ring"});
}

RingBuf ring_of(Map map) {
    auto ring = RingBuf::create(std::move(map));
    INFO(message_of(ring));
    REQUIRE(ring.has_value());
    return std::move(*ring);
}

// 8 payload bytes (sender, sequence) followed by `padding` bytes.
std::string payload(std::uint32_t sender, std::uint32_t sequence, std::size_t padding) {
    std::string bytes(8 + padding, 'x');
    std::memcpy(bytes.data(), &sender, 4);
    std::memcpy(bytes.data() + 4, &sequence, 4);
    return bytes;
}

std::optional<Record> record_of(std::span<const std::byte> bytes) {
    if (bytes.size() != sizeof(Record)) return std::nullopt;
    Record record{};
    std::memcpy(&record, bytes.data(), sizeof record);
    return record;
}

// skb->len of a UDP datagram as a socket filter sees it: UDP header + payload.
std::uint32_t skb_length(std::size_t payload_size) { return static_cast<std::uint32_t>(8 + payload_size); }

// A UDP receiver with output_filter on `ring`'s map, and a sender.
struct Link {
    SocketFilter filter;
    UdpReceiver receiver;
    OwnedFd sender;
};

Link linked(const RingBuf& ring) {
    const auto code = output_filter(ring.fd());
    Link link{loaded("ring_output", code), udp_receiver(), udp_sender()};
    const auto attached = link.filter.attach(link.receiver.fd.get());
    INFO(message_of(attached));
    REQUIRE(attached.has_value());
    return link;
}

// Sends datagrams sequence first .. first + count - 1 from sender 1, payload padded by sequence % 32.
void send_sequence(const Link& link, std::uint32_t first, std::uint32_t count) {
    for (std::uint32_t sequence = first; sequence < first + count; ++sequence) {
        REQUIRE(send_udp(link.sender.get(), link.receiver.port, payload(1, sequence, sequence % 32)));
    }
}

// Consumes everything and checks it is exactly sequences first .. first + count - 1, in order.
void expect_sequence(RingBuf& ring, std::uint32_t first, std::uint32_t count) {
    std::vector<Record> records;
    bool well_formed = true;
    const std::size_t consumed = ring.consume([&](std::span<const std::byte> bytes) {
        const auto record = record_of(bytes);
        well_formed = well_formed && record.has_value();
        if (record) records.push_back(*record);
    });
    CHECK(well_formed);
    REQUIRE(consumed == count);
    REQUIRE(records.size() == count);
    for (std::uint32_t i = 0; i < count; ++i) {
        INFO("record " << i);
        CHECK(records[i].sender == 1);
        CHECK(records[i].sequence == first + i);
        CHECK(records[i].length == skb_length(8 + (first + i) % 32));
    }
}

}  // namespace

TEST_CASE("ring_buf records from a socket filter arrive in order") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(1));
    CHECK(ring.capacity() == 4096);
    CHECK(ring.map().map_type() == BPF_MAP_TYPE_RINGBUF);
    CHECK(ring.available_bytes() == 0);
    CHECK(ring.consume([](std::span<const std::byte>) { FAIL("no record was written"); }) == 0);

    const Link link = linked(ring);
    send_sequence(link, 0, 20);
    CHECK(ring.available_bytes() == 20 * record_footprint);
    expect_sequence(ring, 0, 20);
    CHECK(ring.available_bytes() == 0);
    CHECK(ring.consume([](std::span<const std::byte>) {}) == 0);
}

TEST_CASE("ring_buf poll times out with nothing written and returns what arrives") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(1));
    CHECK((fcntl(ring.epoll_fd(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(ring.epoll_fd() >= 3);

    const auto start = std::chrono::steady_clock::now();
    const auto nothing = ring.poll(100ms, [](std::span<const std::byte>) {});
    const auto waited = std::chrono::steady_clock::now() - start;
    INFO(message_of(nothing));
    REQUIRE(nothing.has_value());
    CHECK(*nothing == 0);
    CHECK(waited >= 90ms);
    const auto not_waiting = ring.poll(0ms, [](std::span<const std::byte>) {});
    REQUIRE(not_waiting.has_value());
    CHECK(*not_waiting == 0);

    // Records already waiting come back at once; one written while poll waits wakes it.
    const Link link = linked(ring);
    send_sequence(link, 0, 3);
    const auto before = std::chrono::steady_clock::now();
    const auto three = ring.poll(5000ms, [](std::span<const std::byte>) {});
    REQUIRE(three.has_value());
    CHECK(*three == 3);
    CHECK(std::chrono::steady_clock::now() - before < 1000ms);

    std::thread later([&] {
        std::this_thread::sleep_for(50ms);
        static_cast<void>(send_udp(link.sender.get(), link.receiver.port, payload(1, 3, 3)));
    });
    std::vector<Record> records;
    const auto woken = ring.poll(5000ms, [&](std::span<const std::byte> bytes) {
        if (const auto record = record_of(bytes)) records.push_back(*record);
    });
    later.join();
    REQUIRE(woken.has_value());
    CHECK(*woken == 1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].sequence == 3);
}

TEST_CASE("ring_buf records that wrap around the end of the data area") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(1));
    const Link link = linked(ring);
    // 24 bytes per record in a 4096-byte area: record 170 starts at 4080 and runs over the end (its data is
    // read through the second mapping of the area); by record 400 the ring has gone round twice.
    for (std::uint32_t round = 0; round < 4; ++round) {
        INFO("round " << round);
        send_sequence(link, round * 100, 100);
        CHECK(ring.available_bytes() == 100 * record_footprint);
        expect_sequence(ring, round * 100, 100);
    }
}

TEST_CASE("ring_buf discarded records are skipped") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(1));
    const auto code = discard_odd_filter(ring.fd());
    const SocketFilter filter = loaded("ring_discard", code);
    const UdpReceiver receiver = udp_receiver();
    const OwnedFd sender = udp_sender();
    REQUIRE(filter.attach(receiver.fd.get()));
    for (std::size_t size = 1; size <= 10; ++size) REQUIRE(send_udp(sender.get(), receiver.port, std::string(size, 'd')));
    CHECK(ring.available_bytes() == 10 * 16);  // discarded records still take their space until consumed

    std::vector<std::uint32_t> lengths;
    const std::size_t consumed = ring.consume([&](std::span<const std::byte> bytes) {
        REQUIRE(bytes.size() == 8);
        std::array<std::uint32_t, 2> words{};
        std::memcpy(words.data(), bytes.data(), 8);
        CHECK(words[1] == 0x5eed);
        lengths.push_back(words[0]);
    });
    CHECK(consumed == 5);
    CHECK(lengths == std::vector<std::uint32_t>{10, 12, 14, 16, 18});  // 8-byte UDP header + 2, 4, … bytes
    CHECK(ring.available_bytes() == 0);
}

TEST_CASE("ring_buf callback stopping early leaves the rest for the next consume") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(1));
    const Link link = linked(ring);
    send_sequence(link, 0, 10);

    std::vector<std::uint32_t> seen;
    const auto first_three = ring.consume([&](std::span<const std::byte> bytes) {
        seen.push_back(record_of(bytes).value_or(Record{}).sequence);
        return seen.size() == 3 ? RecordAction::Stop : RecordAction::Continue;
    });
    CHECK(first_three == 3);
    CHECK(seen == std::vector<std::uint32_t>{0, 1, 2});
    CHECK(ring.available_bytes() == 7 * record_footprint);

    const auto one = ring.consume([](std::span<const std::byte>) { return RecordAction::Stop; });
    CHECK(one == 1);
    expect_sequence(ring, 4, 6);
}

TEST_CASE("ring_buf concurrent producers keep each sender's order") {
    REQUIRE_FEATURE(ring_buffers);
    NetnsScope netns;
    RingBuf ring = ring_of(ring_map(64));  // 256 KiB: room for every record even if the consumer stalls
    constexpr std::uint32_t per_sender = 3000;
    const Link first = linked(ring);
    const Link second = linked(ring);

    // Each sender on its own CPU where there are two: its datagrams run the filter there, in order.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    std::vector<std::size_t> cpus;
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
        if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    }
    REQUIRE(!cpus.empty());

    std::atomic<int> failed_sends{0};
    auto send_all = [&](const Link& link, std::uint32_t sender, std::size_t cpu) {
        cpu_set_t only;
        CPU_ZERO(&only);
        CPU_SET(cpu, &only);
        static_cast<void>(sched_setaffinity(0, sizeof only, &only));
        for (std::uint32_t sequence = 0; sequence < per_sender; ++sequence) {
            if (!send_udp(link.sender.get(), link.receiver.port, payload(sender, sequence, sequence % 7))) ++failed_sends;
        }
    };

    std::array<std::uint32_t, 2> next{0, 0};
    std::size_t total = 0;
    std::size_t out_of_order = 0;
    auto check = [&](std::span<const std::byte> bytes) {
        const auto record = record_of(bytes);
        if (!record || record->sender < 1 || record->sender > 2) {
            ++out_of_order;
            return;
        }
        std::uint32_t& expected = next[record->sender - 1];
        if (record->sequence != expected) ++out_of_order;
        expected = record->sequence + 1;
        ++total;
    };

    std::thread one(send_all, std::cref(first), 1U, cpus.front());
    std::thread two(send_all, std::cref(second), 2U, cpus.back());
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::size_t polls = 0;
    while (total < 2 * per_sender && std::chrono::steady_clock::now() < deadline) {
        const auto polled = ring.poll(20ms, check);
        if (!polled) break;
        ++polls;
    }
    one.join();
    two.join();
    ring.consume(check);  // anything left after the senders finished

    CHECK(failed_sends == 0);
    CHECK(out_of_order == 0);
    CHECK(total == 2 * per_sender);
    CHECK(next == std::array<std::uint32_t, 2>{per_sender, per_sender});
    CHECK(polls > 0);
    CHECK(ring.available_bytes() == 0);
}

TEST_CASE("ring_buf refuses a map of another type") {
    REQUIRE_FEATURE(ring_buffers);
    auto array = RingBuf::create(
        created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "not_a_ring"}));
    REQUIRE_FALSE(array.has_value());
    CHECK(array.error().kind() == ErrorKind::UnexpectedMapType);
    CHECK(array.error().code().value() == 0);
    CHECK(array.error().message().find("not_a_ring") != std::string::npos);
}

TEST_CASE("ring_buf move and into_map") {
    REQUIRE_FEATURE(ring_buffers);
    RingBuf ring = ring_of(ring_map(2));
    const int map_fd = ring.fd();
    RingBuf moved(std::move(ring));
    CHECK(moved.fd() == map_fd);
    CHECK(moved.capacity() == 8192);
    CHECK(ring.capacity() == 0);  // NOLINT(bugprone-use-after-move): a moved-from RingBuf is empty
    CHECK(ring.available_bytes() == 0);
    CHECK(ring.consume([](std::span<const std::byte>) {}) == 0);
    const auto refused = ring.poll(0ms, [](std::span<const std::byte>) {});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().kind() == ErrorKind::InvalidArgument);

    RingBuf assigned = ring_of(ring_map(1));
    assigned = std::move(moved);
    CHECK(assigned.fd() == map_fd);
    CHECK(assigned.capacity() == 8192);

    Map back = std::move(assigned).into_map();
    CHECK(back.fd().get() == map_fd);
    CHECK(back.map_type() == BPF_MAP_TYPE_RINGBUF);
    RingBuf again = ring_of(std::move(back));
    CHECK(again.capacity() == 8192);
}
