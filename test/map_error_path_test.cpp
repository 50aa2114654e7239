// Map error paths the kernel will not produce on demand, through the fake OS layer: a map freed during
// loaded_maps(), an iteration failing midway, and size checks that keep bad requests from the kernel.
#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "fake_syscall.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/map.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

Map created_map(std::string_view name) {
    auto map = Map::create({.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 4, .name = name});
    INFO(message_of(map));
    REQUIRE(map.has_value());
    return std::move(*map);
}

}  // namespace

TEST_CASE("map error path loaded_maps skips a map that vanishes mid-walk") {
    REQUIRE_FEATURE(object_ids);
    fake::Scope scope;
    const Map ours = created_map("vanishing");
    const auto our_info = ours.info();
    REQUIRE(our_info.has_value());
    const auto all = loaded_maps();
    INFO(message_of(all));
    REQUIRE(all.has_value());
    std::size_t position = all->size();
    for (std::size_t i = 0; i < all->size(); ++i) {
        if ((*all)[i].id() == our_info->id()) position = i;
    }
    REQUIRE(position < all->size());

    // Ours "is freed" between GET_NEXT_ID and GET_FD_BY_ID: it is left out and the walk goes on.
    fake::reset();
    fake::fail_bpf(BPF_MAP_GET_FD_BY_ID, ENOENT, 1, static_cast<int>(position));
    const auto walked = loaded_maps();
    INFO(message_of(walked));
    REQUIRE(walked.has_value());
    bool listed = false;
    for (const auto& map : *walked) listed = listed || map.id() == our_info->id();
    CHECK_FALSE(listed);

    // Any other failure ends the walk with that error.
    fake::reset();
    fake::fail_bpf(BPF_MAP_GET_FD_BY_ID, EPERM, 1);
    const auto refused = loaded_maps();
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().operation() == "BPF_MAP_GET_FD_BY_ID");
    CHECK(refused.error().kind() == ErrorKind::PermissionDenied);
}

TEST_CASE("map error path keys reports a failure midway") {
    REQUIRE_FEATURE(next_key_from_start);
    fake::Scope scope;
    Map map = created_map("walked");
    const std::uint64_t value = 1;
    for (std::uint32_t key = 0; key < 3; ++key) REQUIRE(map.update(std::as_bytes(std::span(&key, 1)), std::as_bytes(std::span(&value, 1))));
    fake::fail_bpf(BPF_MAP_GET_NEXT_KEY, EFAULT, 1, 1);  // the second step fails: not the end of the map
    const auto keys = map.keys();
    REQUIRE_FALSE(keys.has_value());
    CHECK(keys.error().operation() == "BPF_MAP_GET_NEXT_KEY");
    CHECK(keys.error().code() == std::errc::bad_address);
}

TEST_CASE("map error path size mismatches never reach the kernel") {
    REQUIRE_FEATURE(maps);
    fake::Scope scope;
    Map map = created_map("sizes");
    fake::reset();
    const std::uint64_t wide = 0;
    std::uint32_t narrow = 0;
    CHECK_FALSE(map.lookup(std::as_bytes(std::span(&wide, 1)), std::as_writable_bytes(std::span(&narrow, 1))).has_value());
    CHECK_FALSE(map.update(std::as_bytes(std::span(&wide, 1)), std::as_bytes(std::span(&wide, 1))).has_value());
    CHECK_FALSE(map.erase(std::as_bytes(std::span(&wide, 1))).has_value());
    CHECK(fake::bpf_calls(BPF_MAP_LOOKUP_ELEM) == 0);
    CHECK(fake::bpf_calls(BPF_MAP_UPDATE_ELEM) == 0);
    CHECK(fake::bpf_calls(BPF_MAP_DELETE_ELEM) == 0);
}
