// Typed map views against the kernel (a socket filter counting into Array and PerCpuArray, hash views),
// their type and size checks, and the CPU-list parser behind per-CPU values.
#include <catch2/catch.hpp>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/cpus.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/typed_maps.hpp"

using namespace sockfilter;
using namespace sockfilter::insn;
using namespace sockfilter_test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sends `count` datagrams through a unix pair whose receiver runs the counting filter on `map`.
void count_packets(const Map& map, int count) {
    const auto code = filters::count_into(map.fd().get());
    const SocketFilter filter = loaded("count", code);
    auto pair = unix_dgram_pair();
    REQUIRE(filter.attach(pair.receiver.get()));
    for (int i = 0; i < count; ++i) REQUIRE(send(pair.sender.get(), "counted", 7, 0) == 7);
    CHECK(receive_all(pair.receiver.get()).size() == static_cast<std::size_t>(count));
}

}  // namespace

TEST_CASE("typed array counts packets from a socket filter") {
    REQUIRE_FEATURE(maps);
    auto counts = view_of<Array<std::uint64_t>>(
        created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "counts"}));
    CHECK(counts.size() == 2);
    CHECK(counts.get(0) == 0U);
    count_packets(counts.map(), 5);
    CHECK(counts.get(0) == 5U);
    CHECK(counts.get(1) == 0U);

    REQUIRE(counts.set(1, 77));
    CHECK(counts.get(1) == 77U);
    const auto out_of_range = counts.get(2);
    REQUIRE_FALSE(out_of_range.has_value());
    CHECK(out_of_range.error().kind() == ErrorKind::NotFound);
    const auto set_out_of_range = counts.set(2, 1);
    REQUIRE_FALSE(set_out_of_range.has_value());
    CHECK(set_out_of_range.error().kind() == ErrorKind::TooBig);

    const Map back = std::move(counts).into_map();
    CHECK(back.name() == "counts");
}

TEST_CASE("typed per-cpu array counts packets summed over CPUs") {
    REQUIRE_FEATURE(percpu_maps);
    auto counts = view_of<PerCpuArray<std::uint64_t>>(
        created_map({.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "pcpu"}));
    const auto cpus = possible_cpu_count();
    REQUIRE(cpus);
    count_packets(counts.map(), 6);
    const auto per_cpu = counts.get(0);
    INFO(message_of(per_cpu));
    REQUIRE(per_cpu.has_value());
    CHECK(per_cpu->size() == *cpus);
    CHECK(std::accumulate(per_cpu->begin(), per_cpu->end(), std::uint64_t{0}) == 6);

    // Writing one value per CPU and reading them back, in CPU order.
    std::vector<std::uint64_t> values(*cpus);
    std::iota(values.begin(), values.end(), std::uint64_t{10});
    REQUIRE(counts.set(0, values));
    CHECK(counts.get(0) == values);
    const std::vector<std::uint64_t> too_few(*cpus + 1, 1);
    const auto wrong_count = counts.set(0, too_few);
    REQUIRE_FALSE(wrong_count.has_value());
    CHECK(wrong_count.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(wrong_count.error().message(), "one per possible CPU (" + std::to_string(*cpus) + ")"));
}

TEST_CASE("typed per-cpu values narrower than 8 bytes") {
    REQUIRE_FEATURE(percpu_maps);
    auto map = view_of<PerCpuHashMap<std::uint16_t, std::uint32_t>>(
        created_map({.type = BPF_MAP_TYPE_PERCPU_HASH, .key_size = 2, .value_size = 4, .max_entries = 4, .name = "narrow"}));
    const auto cpus = possible_cpu_count();
    REQUIRE(cpus);
    std::vector<std::uint32_t> values(*cpus);
    for (std::uint32_t cpu = 0; cpu < *cpus; ++cpu) values[cpu] = 0xa0000000U + cpu;
    REQUIRE(map.insert(7, values, BPF_NOEXIST));
    CHECK(map.get(7) == values);  // each 4-byte value sits in an 8-byte slot
    CHECK(map.keys() == std::vector<std::uint16_t>{7});
    REQUIRE(map.remove(7));
    const auto gone = map.get(7);
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("typed hash map and lru hash map") {
    REQUIRE_FEATURE(lru_hash_maps);
    struct Key {
        std::uint32_t address;
        std::uint16_t port;
        std::uint16_t pad;
    };
    auto flows = view_of<HashMap<Key, std::uint64_t>>(
        created_map({.type = BPF_MAP_TYPE_HASH, .key_size = 8, .value_size = 8, .max_entries = 2, .name = "flows"}));
    REQUIRE(flows.insert({0x7f000001, 80, 0}, 3));
    REQUIRE(flows.insert({0x7f000001, 443, 0}, 4, BPF_NOEXIST));
    CHECK(flows.get({0x7f000001, 443, 0}) == 4U);
    const auto exists = flows.insert({0x7f000001, 443, 0}, 5, BPF_NOEXIST);
    REQUIRE_FALSE(exists.has_value());
    CHECK(exists.error().kind() == ErrorKind::AlreadyExists);
    const auto full = flows.insert({0x7f000002, 22, 0}, 1);
    REQUIRE_FALSE(full.has_value());
    CHECK(full.error().kind() == ErrorKind::TooBig);
    auto keys = flows.keys();
    REQUIRE(keys);
    std::vector<std::uint16_t> ports;
    for (const Key& key : *keys) ports.push_back(key.port);
    std::sort(ports.begin(), ports.end());
    CHECK(ports == std::vector<std::uint16_t>{80, 443});
    REQUIRE(flows.remove({0x7f000001, 80, 0}));
    CHECK(flows.keys()->size() == 1);

    // An LRU hash map evicts instead of refusing when full.
    auto recent = view_of<LruHashMap<std::uint32_t, std::uint32_t>>(
        created_map({.type = BPF_MAP_TYPE_LRU_HASH, .key_size = 4, .value_size = 4, .max_entries = 2,
                     .flags = BPF_F_NO_COMMON_LRU, .name = "recent"}));
    for (std::uint32_t key = 0; key < 16; ++key) REQUIRE(recent.insert(key, key * 2));
    const auto remaining = recent.keys();
    REQUIRE(remaining);
    CHECK(remaining->size() <= 2 * 2U);  // per-CPU LRU lists: up to max_entries, rounded per CPU
    CHECK(recent.get(15) == 30U);         // the newest survives
}

TEST_CASE("typed views check the map type and sizes") {
    REQUIRE_FEATURE(percpu_maps);
    const auto wrong_value = Array<std::uint32_t>::from(
        created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "u64s"}));
    REQUIRE_FALSE(wrong_value.has_value());
    CHECK(wrong_value.error().kind() == ErrorKind::InvalidArgument);
    CHECK(wrong_value.error().operation() == "Array");
    CHECK(contains(wrong_value.error().message(), "map \"u64s\" has 4-byte keys and 8-byte values; the view's types have "
                                                  "4-byte keys and 4-byte values"));

    const auto wrong_type = HashMap<std::uint32_t, std::uint64_t>::from(
        created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "arr"}));
    REQUIRE_FALSE(wrong_type.has_value());
    CHECK(wrong_type.error().kind() == ErrorKind::UnexpectedMapType);
    CHECK(contains(wrong_type.error().message(), "map \"arr\" has type 2; HashMap needs type 1"));

    const auto not_per_cpu = PerCpuArray<std::uint64_t>::from(
        created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "arr"}));
    REQUIRE_FALSE(not_per_cpu.has_value());
    CHECK(not_per_cpu.error().kind() == ErrorKind::UnexpectedMapType);

    const auto lru_as_hash = HashMap<std::uint32_t, std::uint64_t>::from(
        created_map({.type = BPF_MAP_TYPE_LRU_HASH, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "lru"}));
    REQUIRE_FALSE(lru_as_hash.has_value());
    CHECK(lru_as_hash.error().kind() == ErrorKind::UnexpectedMapType);
    CHECK(contains(lru_as_hash.error().message(), "HashMap needs"));
}

TEST_CASE("cpu list parser") {
    using List = std::vector<std::uint32_t>;
    CHECK(parse_cpu_list("0") == List{0});
    CHECK(parse_cpu_list("0\n") == List{0});
    CHECK(parse_cpu_list("0-3") == List{0, 1, 2, 3});
    CHECK(parse_cpu_list("0,2-5,7\n") == List{0, 2, 3, 4, 5, 7});
    CHECK(parse_cpu_list("5-5") == List{5});
    for (const char* malformed : {"", "\n", "a", "0-", "-3", "0,", ",0", "3-1", "0,,1", "1,0", "0-2,2", "0 ", " 0",
                                  "0\n\n", "65536", "4294967296", "0-3x"}) {
        INFO("\"" << malformed << "\"");
        const auto parsed = parse_cpu_list(malformed);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().kind() == ErrorKind::InvalidArgument);
        CHECK(parsed.error().operation() == "CPU list");
    }
    CHECK(contains(parse_cpu_list("0,x-2").error().message(), "\"x-2\""));
    CHECK(contains(parse_cpu_list("3-1").error().message(), "descending range \"3-1\""));

    const auto count = possible_cpu_count();
    INFO(message_of(count));
    REQUIRE(count.has_value());
    CHECK(*count >= 1);
}
