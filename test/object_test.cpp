// Object against the real kernel: clang-compiled objects from test/bpf/ opened, loaded and run on real
// traffic (AF_PACKET on a veth in a fresh namespace, UDP on loopback), their maps read back.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "bpffs.hpp"
#include "netns.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/object.hpp"
#include "sockfilter/ring_buf.hpp"
#include "sockfilter/typed_maps.hpp"
#include "veth.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

// Sends `count` packets of `payload` bytes with a socket of `type`/`protocol` to the veth neighbour.
void send_to_neighbour(int type, int protocol, int count, const std::string& payload) {
    const OwnedFd sender(socket(AF_INET, type | SOCK_CLOEXEC, protocol));
    REQUIRE(sender);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(type == SOCK_DGRAM ? 4242 : 0);
    REQUIRE(inet_pton(AF_INET, veth_neighbour, &to.sin_addr) == 1);
    for (int i = 0; i < count; ++i) {
        REQUIRE(sendto(sender.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
                static_cast<ssize_t>(payload.size()));
    }
}

// A socket filter's test run on `frame`: its return value.
std::uint32_t run_on(const SocketFilter& filter, const std::string& frame) {
    const auto result = filter.test_run({.data_in = std::as_bytes(std::span(frame.data(), frame.size()))});
    INFO(message_of(result));
    REQUIRE(result.has_value());
    return result->return_value;
}

std::string frame_with_udp_port(std::uint16_t port) {
    std::string frame(14 + 8 + 4, '\0');  // Ethernet (pulled by the test run), UDP header, payload
    frame[14 + 2] = static_cast<char>(port >> 8);
    frame[14 + 3] = static_cast<char>(port & 0xff);
    return frame;
}

const ObjectMapSpec* spec_of(const Object& object, std::string_view name) {
    for (const auto& spec : object.map_specs()) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("object counts bytes per protocol on a veth") {
    REQUIRE_FEATURE(btf);
    NetnsScope netns;
    const Veth veth = make_veth();
    Object object = loaded_object("proto_count");
    const SocketFilter filter = loaded_program(object, "count_protocols");
    const OwnedFd capture = packet_socket(veth.ifindex_b, &filter);

    send_to_neighbour(SOCK_DGRAM, 0, 3, std::string(10, 'u'));                 // UDP: 14 + 20 + 8 + 10 bytes each
    send_to_neighbour(SOCK_RAW, IPPROTO_ICMP, 2, std::string("\x08\0\0\0\0\0\0\0icmpdata", 16));  // 14 + 20 + 16
    send_to_neighbour(SOCK_RAW, IPPROTO_TCP, 4, std::string(20, '\0'));        // a bare TCP header: 14 + 20 + 20
    CHECK(receive_all(capture.get()).size() == 9);  // every frame kept, and seen by the filter before

    auto bytes = view_of<Array<std::uint64_t>>(taken_map(object, "proto_bytes"));
    auto packets = view_of<Array<std::uint64_t>>(taken_map(object, "proto_packets"));
    CHECK(packets.get(IPPROTO_UDP) == 3U);
    CHECK(bytes.get(IPPROTO_UDP) == 3U * (14 + 20 + 8 + 10));
    CHECK(packets.get(IPPROTO_ICMP) == 2U);
    CHECK(bytes.get(IPPROTO_ICMP) == 2U * (14 + 20 + 16));
    CHECK(packets.get(IPPROTO_TCP) == 4U);
    CHECK(bytes.get(IPPROTO_TCP) == 4U * (14 + 20 + 20));
    CHECK(packets.get(IPPROTO_SCTP) == 0U);
}

TEST_CASE("object legacy maps section counts flows") {
    REQUIRE_FEATURE(maps);
    Object object = loaded_object("flow_count_legacy");
    const ObjectMapSpec* spec = spec_of(object, "flows");
    REQUIRE(spec != nullptr);
    CHECK(spec->type == BPF_MAP_TYPE_HASH);
    CHECK(spec->key_size == 4);
    CHECK(spec->value_size == 8);
    CHECK(spec->max_entries == 1024);
    const SocketFilter filter = loaded_program(object, "count_flows");

    NetnsScope netns;
    const UdpReceiver receiver = udp_receiver();
    REQUIRE(filter.attach(receiver.fd.get()));
    const OwnedFd sender = udp_sender();
    for (int i = 0; i < 4; ++i) REQUIRE(send_udp(sender.get(), receiver.port, "flow " + std::to_string(i)));
    CHECK(receive_all(receiver.fd.get()).size() == 4);

    auto flows = view_of<HashMap<std::uint32_t, std::uint64_t>>(taken_map(object, "flows"));
    CHECK(flows.get(htonl(INADDR_LOOPBACK)) == 4U);
    CHECK(flows.map().keys()->size() == 1);
}

TEST_CASE("object globals configure a filter before load") {
    REQUIRE_FEATURE(global_data);
    NetnsScope netns;
    const UdpReceiver accepted = udp_receiver();
    const UdpReceiver other = udp_receiver();

    Object object = opened_object("port_filter");
    REQUIRE(object.set_global("accept_port", accepted.port));
    REQUIRE(object.load());
    const ObjectMapSpec* rodata = spec_of(object, ".rodata");
    REQUIRE(rodata != nullptr);
    CHECK(rodata->flags == BPF_F_RDONLY_PROG);
    const SocketFilter filter = loaded_program(object, "filter_port");
    REQUIRE(filter.attach(accepted.fd.get()));
    REQUIRE(filter.attach(other.fd.get()));

    const OwnedFd sender = udp_sender();
    for (int i = 0; i < 3; ++i) REQUIRE(send_udp(sender.get(), accepted.port, "to the port " + std::to_string(i)));
    for (int i = 0; i < 2; ++i) REQUIRE(send_udp(sender.get(), other.port, "elsewhere"));
    CHECK(receive_all(accepted.fd.get()) == std::vector<std::string>{"to the port 0", "to the port 1", "to the port 2"});
    CHECK(receive_all(other.fd.get()).empty());

    // .bss holds the two counters (8 bytes each): three accepted, two dropped.
    auto bss = object.map(".bss");
    REQUIRE(bss.has_value());
    std::array<std::uint64_t, 2> counters{};
    const std::uint32_t zero = 0;
    REQUIRE(bss->get().lookup(std::as_bytes(std::span(&zero, 1)), std::as_writable_bytes(std::span(counters))));
    CHECK(counters[0] + counters[1] == 5);
    CHECK(std::max(counters[0], counters[1]) == 3);

    // .rodata is frozen: the verifier trusted its value, so user space may not change it any more.
    auto frozen = object.map(".rodata");
    REQUIRE(frozen.has_value());
    std::vector<std::byte> value(frozen->get().value_size());
    const auto update = frozen->get().update(std::as_bytes(std::span(&zero, 1)), value);
    REQUIRE_FALSE(update.has_value());
    CHECK(update.error().kind() == ErrorKind::PermissionDenied);
}

TEST_CASE("object data section initial values and set_global checks") {
    REQUIRE_FEATURE(global_data);
    Object object = opened_object("port_filter");
    REQUIRE(object.set_global("accept_port", std::uint16_t{4242}));
    REQUIRE(object.set_global("verdict_len", std::uint32_t{12}));  // keep 12 bytes: UDP header + 4 payload bytes

    const auto wrong_size = object.set_global("accept_port", std::uint32_t{1});
    REQUIRE_FALSE(wrong_size.has_value());
    CHECK(wrong_size.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(wrong_size.error().message(), "is 2 bytes; the value given is 4"));
    const auto missing = object.set_global("no_such_global", 1);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().kind() == ErrorKind::NotFound);
    const auto function = object.set_global("filter_port", 1);
    CHECK_FALSE(function.has_value());

    REQUIRE(object.load());
    const auto after_load = object.set_global("accept_port", std::uint16_t{1});
    REQUIRE_FALSE(after_load.has_value());
    CHECK(contains(after_load.error().message(), "after load()"));

    const SocketFilter filter = loaded_program(object, "filter_port");
    CHECK(run_on(filter, frame_with_udp_port(4242)) == 12U);
    CHECK(run_on(filter, frame_with_udp_port(4243)) == 0U);
}

TEST_CASE("object subprograms are appended and called") {
    REQUIRE_FEATURE(bpf_to_bpf_calls);
    Object object = loaded_object("subprograms");
    std::vector<std::string> names;
    for (const auto& program : object.programs()) names.push_back(program.name + " in " + program.section);
    CHECK(names == std::vector<std::string>{"computed_len in socket", "second_mix in socket/second", "second_sub in socket/second"});

    // A 100-byte test run starts with skb->len 86 (the Ethernet header is pulled).
    const std::string frame(100, 'x');
    CHECK(run_on(loaded_program(object, "computed_len"), frame) == 3 * 86 - 4);
    CHECK(run_on(loaded_program(object, "second_mix"), frame) == 3 * 86 + 3);
    CHECK(run_on(loaded_program(object, "second_sub"), frame) == 86 - 7);
    CHECK(object.socket_filter("computed_len")->instructions().size() > object.programs()[0].instruction_count);
}

TEST_CASE("object callback addresses are relocated") {
    REQUIRE_FEATURE(bpf_loop);
    Object object = loaded_object("callbacks");
    CHECK(run_on(loaded_program(object, "loop_sum"), std::string(100, 'c')) == 85 * 86 / 2);
}

TEST_CASE("object per-cpu counter sums to the packets sent") {
    REQUIRE_FEATURE(percpu_maps);
    Object object = loaded_object("percpu_count");
    const SocketFilter filter = loaded_program(object, "count_percpu");
    NetnsScope netns;
    const UdpReceiver receiver = udp_receiver();
    REQUIRE(filter.attach(receiver.fd.get()));
    const OwnedFd sender = udp_sender();
    for (int i = 0; i < 7; ++i) REQUIRE(send_udp(sender.get(), receiver.port, "per cpu"));
    CHECK(receive_all(receiver.fd.get()).size() == 7);
    auto counts = view_of<PerCpuArray<std::uint64_t>>(taken_map(object, "percpu_packets"));
    const auto per_cpu = counts.get(0);
    REQUIRE(per_cpu.has_value());
    CHECK(std::accumulate(per_cpu->begin(), per_cpu->end(), std::uint64_t{0}) == 7U);
}

TEST_CASE("object pinned maps are reused by name") {
    REQUIRE_FEATURE(btf);
    const TempBpffs bpffs;
    const ObjectOptions options{.pin_directory = bpffs.path()};
    std::uint32_t first_id = 0;
    {
        Object first = loaded_object("pinned_maps", options);
        auto map = first.map("pinned_counts");
        REQUIRE(map.has_value());
        REQUIRE(map->get().pinned_path() == bpffs / "pinned_counts");
        first_id = map->get().info()->id();
        const std::uint32_t key = 0;
        const std::uint64_t value = 41;
        REQUIRE(map->get().update(std::as_bytes(std::span(&key, 1)), std::as_bytes(std::span(&value, 1))));
    }
    struct stat pin {};
    REQUIRE(stat((bpffs / "pinned_counts").c_str(), &pin) == 0);  // the pin outlives the object

    Object second = loaded_object("pinned_maps", options);
    auto reused = view_of<HashMap<std::uint32_t, std::uint64_t>>(taken_map(second, "pinned_counts"));
    CHECK(reused.map().info()->id() == first_id);
    CHECK(reused.get(0) == 41U);
    CHECK_FALSE(reused.map().pinned_path().has_value());  // reused, not pinned by this object

    const SocketFilter filter = loaded_program(second, "count_pinned");
    CHECK(run_on(filter, std::string(64, 'p')) == 50U);
    CHECK(reused.get(0) == 42U);
    const auto shown = output_of("bpftool map show pinned " + (bpffs / "pinned_counts"));
    REQUIRE(shown.has_value());
    CHECK(contains(*shown, std::to_string(first_id) + ": hash  name pinned_counts"));
}

TEST_CASE("object incompatible pinned map is refused") {
    REQUIRE_FEATURE(btf);
    const TempBpffs bpffs;
    const ObjectOptions options{.pin_directory = bpffs.path()};
    Object first = loaded_object("pinned_maps", options);
    const std::uint32_t id = first.map("pinned_counts")->get().info()->id();

    Object narrow = opened_object("pinned_maps_incompatible");
    const auto load = narrow.load(options);
    REQUIRE_FALSE(load.has_value());
    CHECK(load.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(load.error().message(), "value_size is 8 there and 4 here"));
    CHECK(contains(load.error().message(), bpffs / "pinned_counts"));
    const auto still = Map::from_pin(bpffs / "pinned_counts");
    REQUIRE(still.has_value());
    CHECK(still->info()->id() == id);  // the pin is left alone
    const auto missing_directory = opened_object("pinned_maps").load({.pin_directory = bpffs / "missing"});
    REQUIRE_FALSE(missing_directory.has_value());
    CHECK(missing_directory.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("object verifier error shows the C source line") {
    REQUIRE_FEATURE(btf_func_line_info);
    Object object = loaded_object("verifier_reject");
    CHECK(object.btf_loaded());
    CHECK(object.btf_error() == nullptr);
    auto filter = object.socket_filter("deref_unchecked");
    REQUIRE(filter.has_value());
    const auto load = filter->load();
    REQUIRE_FALSE(load.has_value());
    CHECK(load.error().kind() == ErrorKind::VerifierRejected);
    INFO(load.error().verifier_log());
    CHECK(contains(load.error().verifier_log(), "return *value_without_null_check;"));

    Object without_btf = opened_object("verifier_reject");
    REQUIRE(without_btf.load({.load_btf = false}));
    CHECK_FALSE(without_btf.btf_loaded());
    const auto bare = without_btf.socket_filter("deref_unchecked")->load();
    REQUIRE_FALSE(bare.has_value());
    CHECK(bare.error().kind() == ErrorKind::VerifierRejected);
    CHECK_FALSE(contains(bare.error().verifier_log(), "value_without_null_check"));
}

TEST_CASE("object sections of other program types") {
    REQUIRE_FEATURE(socket_filter_programs);
    Object object = opened_object("other_section");
    REQUIRE(object.programs().size() == 3);
    CHECK(object.programs()[0].name == "plain_socket");
    CHECK(object.programs()[0].is_socket_filter);
    CHECK(object.programs()[1].name == "pass_xdp");
    CHECK(object.programs()[1].section == "xdp");
    CHECK_FALSE(object.programs()[1].is_socket_filter);
    CHECK(object.programs()[2].section == "socket1");
    CHECK(object.programs()[2].is_socket_filter);
    CHECK(object.license() == "GPL");

    const auto before_load = object.socket_filter("plain_socket");
    REQUIRE_FALSE(before_load.has_value());
    CHECK(before_load.error().kind() == ErrorKind::NotLoaded);
    REQUIRE(object.load());
    const auto again = object.load();
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().kind() == ErrorKind::AlreadyLoaded);

    const auto xdp = object.socket_filter("pass_xdp");
    REQUIRE_FALSE(xdp.has_value());
    CHECK(xdp.error().kind() == ErrorKind::UnexpectedProgramType);
    CHECK(contains(xdp.error().message(), "section 'xdp'"));
    const auto unknown = object.socket_filter("nope");
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().kind() == ErrorKind::NotFound);
    CHECK(contains(unknown.error().message(), "plain_socket, pass_xdp, legacy_socket1"));

    CHECK(run_on(loaded_program(object, "legacy_socket1"), std::string(60, 's')) == 46U);
    const auto reuseport = loaded_program<ReusePortSocketFilter>(object, "plain_socket");
    CHECK(reuseport.info()->name() == "plain_socket");
}

TEST_CASE("object from bytes in memory outlived by its programs") {
    REQUIRE_FEATURE(global_data);
    std::ifstream file(object_path("port_filter"), std::ios::binary);
    const std::vector<char> chars((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    REQUIRE(!chars.empty());
    std::optional<SocketFilter> filter;
    {
        auto object = Object::from_bytes(std::as_bytes(std::span(chars)), "embedded");
        INFO(message_of(object));
        REQUIRE(object.has_value());
        REQUIRE(object->set_global("accept_port", std::uint16_t{7}));
        REQUIRE(object->load());
        auto taken = object->socket_filter("filter_port");
        REQUIRE(taken.has_value());
        filter.emplace(std::move(*taken));
    }
    // The object and its map fds are gone; the program holds its own duplicates.
    REQUIRE(filter->load());
    CHECK(run_on(*filter, frame_with_udp_port(7)) == 0xffffU);
    const auto maps = filter->info()->map_ids();
    CHECK(maps.size() == 3);  // .rodata, .data, .bss
}

TEST_CASE("object ring buffer records arrive in order") {
    REQUIRE_FEATURE(ring_buffers);
    Object object = loaded_object("ring_records");
    const SocketFilter filter = loaded_program(object, "emit_record");
    auto ring = RingBuf::create(taken_map(object, "records"));
    INFO(message_of(ring));
    REQUIRE(ring.has_value());

    NetnsScope netns;
    const UdpReceiver receiver = udp_receiver();
    REQUIRE(filter.attach(receiver.fd.get()));
    const OwnedFd sender = udp_sender();
    struct Sent {
        std::uint32_t seq;
        std::size_t length;
    };
    const std::vector<Sent> sent{{7, 4}, {8, 20}, {9, 5}, {1000, 64}, {2, 4}};
    for (const auto& datagram : sent) {
        std::string payload(datagram.length, 'r');
        std::memcpy(payload.data(), &datagram.seq, sizeof datagram.seq);
        REQUIRE(send_udp(sender.get(), receiver.port, payload));
        REQUIRE(receive(receiver.fd.get()).has_value());  // one at a time: the program's counter is not atomic
    }

    struct Record {
        std::uint32_t len;
        std::uint32_t seq;
        std::uint64_t counter;
    };
    std::vector<Record> records;
    const auto consumed = ring->poll(std::chrono::milliseconds(500), [&](std::span<const std::byte> bytes) {
        REQUIRE(bytes.size() == sizeof(Record));
        Record record{};
        std::memcpy(&record, bytes.data(), sizeof record);
        records.push_back(record);
    });
    INFO(message_of(consumed));
    REQUIRE(consumed.has_value());
    REQUIRE(records.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        INFO("record " << i);
        CHECK(records[i].len == 8 + sent[i].length);
        CHECK(records[i].seq == sent[i].seq);
        CHECK(records[i].counter == i + 1);
    }
    CHECK(ring->consume([](std::span<const std::byte>) {}) == 0U);
}
