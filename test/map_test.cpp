// Map and the sys:: map commands against the kernel: creation, element access, iteration, flags,
// freezing, pins, info and the size checks made before any syscall.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockfilter/cpus.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

template <typename T>
std::span<const std::byte> bytes(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

template <typename T>
std::span<std::byte> out_bytes(T& value) {
    return std::as_writable_bytes(std::span(&value, 1));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr MapSpec hash_spec{.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 4, .name = "hash"};

}  // namespace

TEST_CASE("map sys commands on their own") {
    REQUIRE_FEATURE(map_freeze);
    const auto map = sys::map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8,
                                      .name = "sys_map"});
    INFO(message_of(map));
    REQUIRE(map.has_value());
    CHECK(map->get() >= 3);
    CHECK((fcntl(map->get(), F_GETFD) & FD_CLOEXEC) != 0);

    const std::uint32_t key = 7;
    const std::uint64_t value = 0x1122334455667788;
    REQUIRE(sys::map_update_elem(map->get(), bytes(key), bytes(value), BPF_NOEXIST));
    std::uint64_t read = 0;
    REQUIRE(sys::map_lookup_elem(map->get(), bytes(key), out_bytes(read)));
    CHECK(read == value);

    std::uint32_t first = 0;
    REQUIRE(sys::map_get_next_key(map->get(), {}, out_bytes(first)));  // empty key: the first one
    CHECK(first == key);
    std::uint32_t after = 0;
    const auto end = sys::map_get_next_key(map->get(), bytes(key), out_bytes(after));
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error().code() == std::errc::no_such_file_or_directory);

    // The map is found by id, and the fd opened by id reads the same element.
    bpf_map_info info;
    std::memset(&info, 0, sizeof info);
    REQUIRE(sys::obj_get_info_by_fd(map->get(), std::as_writable_bytes(std::span(&info, 1))));
    bool listed = false;
    for (auto id = sys::map_get_next_id(0); id; id = sys::map_get_next_id(*id)) listed = listed || *id == info.id;
    CHECK(listed);
    const auto by_id = sys::map_get_fd_by_id(info.id, BPF_F_RDONLY);
    INFO(message_of(by_id));
    REQUIRE(by_id.has_value());
    read = 0;
    REQUIRE(sys::map_lookup_elem(by_id->get(), bytes(key), out_bytes(read)));
    CHECK(read == value);

    REQUIRE(sys::map_delete_elem(map->get(), bytes(key)));
    const auto gone = sys::map_lookup_elem(map->get(), bytes(key), out_bytes(read));
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().kind() == ErrorKind::NotFound);
    CHECK(contains(gone.error().message(), "no such key"));

    REQUIRE(sys::map_freeze(map->get()));
    const auto frozen = sys::map_update_elem(map->get(), bytes(key), bytes(value));
    REQUIRE_FALSE(frozen.has_value());
    CHECK(frozen.error().code() == std::errc::operation_not_permitted);
    CHECK(contains(frozen.error().message(), "frozen"));
    const auto again = sys::map_freeze(map->get());
    REQUIRE_FALSE(again.has_value());
    // A second freeze: EPERM on 6.18, EBUSY on 6.1; the library gives both one kind.
    CHECK(again.error().kind() == ErrorKind::PermissionDenied);
    CHECK((again.error().code() == std::errc::operation_not_permitted || again.error().code() == std::errc::device_or_resource_busy));
    CHECK(contains(again.error().message(), "already frozen"));

    const auto long_name = sys::map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
                                            .max_entries = 1, .name = "sixteen_chars_xx"});
    REQUIRE_FALSE(long_name.has_value());
    CHECK(long_name.error().kind() == ErrorKind::InvalidArgument);
    CHECK(long_name.error().code().value() == 0);
}

TEST_CASE("map create each type") {
    REQUIRE_FEATURE(lru_hash_maps);
    for (const bpf_map_type type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH,
                                    BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH}) {
        INFO("type " << type);
        const Map map = created_map({.type = type, .key_size = 4, .value_size = 12, .max_entries = 16, .name = "each"});
        CHECK(map.map_type() == type);
        CHECK(map.key_size() == 4);
        CHECK(map.value_size() == 12);
        CHECK(map.max_entries() == 16);
        CHECK(map.name() == "each");
        const bool per_cpu = type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH;
        CHECK(map.is_per_cpu() == per_cpu);
        const auto cpus = possible_cpu_count();
        REQUIRE(cpus);
        CHECK(map.value_buffer_size() == (per_cpu ? 16U * *cpus : 12U));  // 12 rounded up to 8 per CPU
        const auto info = map.info();
        INFO(message_of(info));
        REQUIRE(info.has_value());
        CHECK(info->map_type() == type);
        CHECK(info->name() == "each");
    }
}

TEST_CASE("map update lookup erase and keys") {
    REQUIRE_FEATURE(next_key_from_start);
    Map map = created_map(hash_spec);
    std::vector<std::uint32_t> inserted{3, 1, 4};
    for (const std::uint32_t key : inserted) {
        const std::uint64_t value = key * 100ULL;
        REQUIRE(map.update(bytes(key), bytes(value)));
    }
    std::uint64_t value = 0;
    const std::uint32_t one = 1;
    REQUIRE(map.lookup(bytes(one), out_bytes(value)));
    CHECK(value == 100);

    const auto keys = map.keys();
    INFO(message_of(keys));
    REQUIRE(keys.has_value());
    std::vector<std::uint32_t> listed;
    for (const auto& key : *keys) {
        REQUIRE(key.size() == 4);
        std::uint32_t number = 0;
        std::memcpy(&number, key.data(), 4);
        listed.push_back(number);
    }
    std::sort(listed.begin(), listed.end());
    std::sort(inserted.begin(), inserted.end());
    CHECK(listed == inserted);

    REQUIRE(map.erase(bytes(one)));
    const auto missing = map.lookup(bytes(one), out_bytes(value));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().kind() == ErrorKind::NotFound);
    const auto erased_twice = map.erase(bytes(one));
    REQUIRE_FALSE(erased_twice.has_value());
    CHECK(erased_twice.error().kind() == ErrorKind::NotFound);

    // next_key reports the end as false, not as an error.
    std::uint32_t next = 0;
    std::uint32_t current = 0;
    int steps = 0;
    for (auto found = map.next_key({}, out_bytes(next)); found && *found; found = map.next_key(bytes(current), out_bytes(next))) {
        current = next;
        ++steps;
    }
    CHECK(steps == 2);

    // Arrays cannot delete.
    Map array = created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "arr"});
    const std::uint32_t zero = 0;
    const auto array_erase = array.erase(bytes(zero));
    REQUIRE_FALSE(array_erase.has_value());
    CHECK(array_erase.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(array_erase.error().message(), "cannot be deleted"));
    const auto array_keys = array.keys();
    REQUIRE(array_keys);
    CHECK(array_keys->size() == 2);
}

TEST_CASE("map NOEXIST and EXIST") {
    REQUIRE_FEATURE(maps);
    Map map = created_map(hash_spec);
    const std::uint32_t key = 5;
    const std::uint64_t first = 1;
    const std::uint64_t second = 2;

    const auto replace_absent = map.update(bytes(key), bytes(first), BPF_EXIST);
    REQUIRE_FALSE(replace_absent.has_value());
    CHECK(replace_absent.error().kind() == ErrorKind::NotFound);
    CHECK(contains(replace_absent.error().message(), "BPF_EXIST was given"));

    REQUIRE(map.update(bytes(key), bytes(first), BPF_NOEXIST));
    const auto create_present = map.update(bytes(key), bytes(second), BPF_NOEXIST);
    REQUIRE_FALSE(create_present.has_value());
    CHECK(create_present.error().kind() == ErrorKind::AlreadyExists);
    CHECK(contains(create_present.error().message(), "BPF_NOEXIST was given"));

    REQUIRE(map.update(bytes(key), bytes(second), BPF_EXIST));
    std::uint64_t value = 0;
    REQUIRE(map.lookup(bytes(key), out_bytes(value)));
    CHECK(value == 2);

    const auto bad_flags = map.update(bytes(key), bytes(second), 99);
    REQUIRE_FALSE(bad_flags.has_value());
    CHECK(bad_flags.error().kind() == ErrorKind::InvalidArgument);

    // Array elements always exist: NOEXIST never succeeds, EXIST always does (in range).
    Map array = created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "arr"});
    const std::uint32_t index = 1;
    const auto array_noexist = array.update(bytes(index), bytes(first), BPF_NOEXIST);
    REQUIRE_FALSE(array_noexist.has_value());
    CHECK(array_noexist.error().kind() == ErrorKind::AlreadyExists);
    CHECK(array.update(bytes(index), bytes(first), BPF_EXIST));
}

TEST_CASE("map full gives E2BIG") {
    REQUIRE_FEATURE(maps);
    Map map = created_map({.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "small"});
    const std::uint64_t value = 1;
    for (std::uint32_t key = 0; key < 2; ++key) REQUIRE(map.update(bytes(key), bytes(value)));
    const std::uint32_t third = 2;
    const auto full = map.update(bytes(third), bytes(value));
    REQUIRE_FALSE(full.has_value());
    CHECK(full.error().kind() == ErrorKind::TooBig);
    CHECK(full.error().code() == std::errc::argument_list_too_long);
    CHECK(contains(full.error().message(), "the map is full"));
    const std::uint32_t present = 1;
    CHECK(map.update(bytes(present), bytes(value)));  // replacing still works when full

    Map array = created_map({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .name = "arr"});
    const auto out_of_range = array.update(bytes(third), bytes(value));
    REQUIRE_FALSE(out_of_range.has_value());
    CHECK(out_of_range.error().kind() == ErrorKind::TooBig);
}

TEST_CASE("map frozen refuses updates") {
    REQUIRE_FEATURE(map_freeze);
    Map map = created_map(hash_spec);
    const std::uint32_t key = 1;
    const std::uint64_t value = 42;
    REQUIRE(map.update(bytes(key), bytes(value)));
    const auto before = map.info();
    REQUIRE(before);
    CHECK(before->frozen() == false);

    const auto frozen = map.freeze();
    INFO(message_of(frozen));
    REQUIRE(frozen.has_value());
    const auto after = map.info();
    REQUIRE(after);
    CHECK(after->frozen() == true);

    const auto update = map.update(bytes(key), bytes(value));
    REQUIRE_FALSE(update.has_value());
    CHECK(update.error().kind() == ErrorKind::PermissionDenied);
    CHECK(update.error().code() == std::errc::operation_not_permitted);
    CHECK(contains(update.error().message(), "the map is frozen"));
    const auto erase = map.erase(bytes(key));
    REQUIRE_FALSE(erase.has_value());
    CHECK(erase.error().kind() == ErrorKind::PermissionDenied);

    std::uint64_t read = 0;
    REQUIRE(map.lookup(bytes(key), out_bytes(read)));  // reading still works
    CHECK(read == 42);
}

TEST_CASE("map pin and from_pin") {
    REQUIRE_FEATURE(object_names);
    TempBpffs bpffs;
    const std::string path = bpffs / "counts";
    {
        Map map = created_map(hash_spec);
        const std::uint32_t key = 9;
        const std::uint64_t value = 99;
        REQUIRE(map.update(bytes(key), bytes(value)));
        const auto pinned = map.pin(path);
        INFO(message_of(pinned));
        REQUIRE(pinned.has_value());
        CHECK(map.pinned_path() == path);
        const auto twice = map.pin(bpffs / "other");
        REQUIRE_FALSE(twice.has_value());
        CHECK(twice.error().kind() == ErrorKind::AlreadyExists);
    }  // the fd closes; the pin keeps the map

    auto opened = Map::from_pin(path);
    INFO(message_of(opened));
    REQUIRE(opened.has_value());
    CHECK(opened->map_type() == BPF_MAP_TYPE_HASH);
    CHECK(opened->key_size() == 4);
    CHECK(opened->value_size() == 8);
    CHECK(opened->max_entries() == 4);
    CHECK(opened->name() == "hash");
    CHECK_FALSE(opened->pinned_path().has_value());  // not this object's pin
    const std::uint32_t key = 9;
    std::uint64_t value = 0;
    REQUIRE(opened->lookup(bytes(key), out_bytes(value)));
    CHECK(value == 99);
    const auto not_ours = opened->unpin();
    REQUIRE_FALSE(not_ours.has_value());
    CHECK(not_ours.error().kind() == ErrorKind::NotFound);

    // A second object pins, then unpins its own pin only.
    REQUIRE(opened->pin(bpffs / "second"));
    REQUIRE(opened->unpin());
    CHECK(access((bpffs / "second").c_str(), F_OK) != 0);
    CHECK(access(path.c_str(), F_OK) == 0);

    const auto failed = opened->pin(bpffs / "missing_dir/x");
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().kind() == ErrorKind::NotFound);
    CHECK_FALSE(opened->pinned_path().has_value());  // recorded only after success

    // A program pinned where a map is expected is refused, and its fd closed (the leak check watches).
    SocketFilter filter = loaded("pinned_prog", filters::pass);
    REQUIRE(filter.pin(bpffs / "prog"));
    const auto program = Map::from_pin(bpffs / "prog");
    REQUIRE_FALSE(program.has_value());
    CHECK(program.error().kind() == ErrorKind::UnexpectedMapType);
    CHECK(contains(program.error().message(), "a program (type 1) is pinned at"));
    CHECK(contains(program.error().message(), "not a map"));

    const auto missing = Map::from_pin(bpffs / "nothing");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("map from_fd of a program fd") {
    REQUIRE_FEATURE(object_ids);
    const SocketFilter filter = loaded("not_a_map", filters::pass);
    const auto fd = filter.fd();
    REQUIRE(fd);
    auto clone = fd->get().try_clone();
    REQUIRE(clone);
    const auto map = Map::from_fd(MapFd(clone->release()));
    REQUIRE_FALSE(map.has_value());
    CHECK(map.error().kind() == ErrorKind::UnexpectedMapType);
    CHECK(contains(map.error().message(), "not a map"));
    const auto info = MapInfo::from_fd(fd->get().get());
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().kind() == ErrorKind::UnexpectedMapType);
}

TEST_CASE("map info matches bpftool") {
    REQUIRE_FEATURE(map_freeze);
    const Map map = created_map({.type = BPF_MAP_TYPE_LRU_HASH, .key_size = 8, .value_size = 16, .max_entries = 32,
                                 .flags = BPF_F_NO_COMMON_LRU, .name = "info_map"});
    const auto info = map.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    CHECK(info->id() != 0);
    CHECK(info->map_type() == BPF_MAP_TYPE_LRU_HASH);
    CHECK(info->key_size() == 8);
    CHECK(info->value_size() == 16);
    CHECK(info->max_entries() == 32);
    CHECK(info->flags() == BPF_F_NO_COMMON_LRU);
    CHECK(info->name() == "info_map");
    CHECK(info->ifindex() == 0U);
    CHECK_FALSE(info->btf_id().has_value());  // no BTF given
    CHECK(info->btf_key_type_id() == 0U);
    CHECK(info->btf_value_type_id() == 0U);
    CHECK(info->map_extra() == 0U);
    CHECK(info->frozen() == false);
    REQUIRE(info->memory_locked().has_value());
    CHECK(*info->memory_locked() > 0);
    CHECK(info->info_size() >= offsetof(bpf_map_info, map_extra) + 8);

    const auto json = output_of("bpftool map show id " + std::to_string(info->id()) + " -j");
    REQUIRE(json.has_value());
    INFO(*json);
    CHECK(contains(*json, "\"id\":" + std::to_string(info->id()) + ","));
    CHECK(contains(*json, "\"type\":\"lru_hash\""));
    CHECK(contains(*json, "\"name\":\"info_map\""));
    CHECK(contains(*json, "\"flags\":" + std::to_string(BPF_F_NO_COMMON_LRU) + ","));
    CHECK(contains(*json, "\"bytes_key\":8,"));
    CHECK(contains(*json, "\"bytes_value\":16,"));
    CHECK(contains(*json, "\"max_entries\":32,"));
    CHECK(contains(*json, "\"bytes_memlock\":" + std::to_string(*info->memory_locked())));
    CHECK(contains(*json, "\"frozen\":0"));

    const auto reopened = info->fd();
    INFO(message_of(reopened));
    REQUIRE(reopened.has_value());
    const auto again = MapInfo::from_fd(*reopened);
    REQUIRE(again);
    CHECK(again->id() == info->id());
}

TEST_CASE("map loaded_maps lists ours") {
    REQUIRE_FEATURE(object_ids);
    const Map map = created_map(hash_spec);
    const auto info = map.info();
    REQUIRE(info);
    const auto maps = loaded_maps();
    INFO(message_of(maps));
    REQUIRE(maps.has_value());
    const auto ours = std::find_if(maps->begin(), maps->end(), [&](const MapInfo& m) { return m.id() == info->id(); });
    REQUIRE(ours != maps->end());
    CHECK(ours->name() == "hash");
    CHECK(ours->map_type() == BPF_MAP_TYPE_HASH);
}

TEST_CASE("map size mismatches are refused before the syscall") {
    REQUIRE_FEATURE(percpu_maps);
    Map map = created_map(hash_spec);
    const std::uint64_t wide_key = 1;
    const std::uint32_t key = 1;
    std::uint64_t value = 0;
    std::uint32_t narrow_value = 0;

    const auto lookup = map.lookup(bytes(wide_key), out_bytes(value));
    REQUIRE_FALSE(lookup.has_value());
    CHECK(lookup.error().kind() == ErrorKind::InvalidArgument);
    CHECK(lookup.error().code().value() == 0);
    CHECK(contains(lookup.error().message(), "the key has 8 bytes; map \"hash\" has 4-byte keys"));

    const auto update = map.update(bytes(key), bytes(narrow_value));
    REQUIRE_FALSE(update.has_value());
    CHECK(contains(update.error().message(), "the value has 4 bytes; map \"hash\" has 8-byte values"));
    CHECK(update.error().operation() == "BPF_MAP_UPDATE_ELEM");
    CHECK_FALSE(map.lookup(bytes(key), out_bytes(narrow_value)).has_value());
    CHECK_FALSE(map.erase(bytes(wide_key)).has_value());
    std::uint64_t next = 0;
    const auto next_key = map.next_key({}, out_bytes(next));
    REQUIRE_FALSE(next_key.has_value());
    CHECK(next_key.error().kind() == ErrorKind::InvalidArgument);

    const Map per_cpu = created_map({.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
                                     .name = "pcpu"});
    const auto cpus = possible_cpu_count();
    REQUIRE(cpus);
    const std::uint32_t zero = 0;
    const auto one_slot = per_cpu.lookup(bytes(zero), out_bytes(narrow_value));
    REQUIRE_FALSE(one_slot.has_value());
    INFO(one_slot.error().message());
    CHECK(contains(one_slot.error().message(), "needs " + std::to_string(8 * *cpus) + " (4-byte values rounded up to 8, for each of " +
                                                   std::to_string(*cpus) + " possible CPUs)"));
    std::vector<std::byte> slots(per_cpu.value_buffer_size());
    CHECK(per_cpu.lookup(bytes(zero), slots));
}

TEST_CASE("map names and refused shapes") {
    REQUIRE_FEATURE(object_names);
    const auto long_name = Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
                                        .name = "a_name_too_long_"});
    REQUIRE_FALSE(long_name.has_value());
    CHECK(long_name.error().operation() == "map name");
    CHECK(long_name.error().kind() == ErrorKind::InvalidArgument);
    const auto bad_char = Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
                                       .name = "bad-name"});
    REQUIRE_FALSE(bad_char.has_value());
    CHECK(contains(bad_char.error().message(), "character 3 of \"bad-name\""));
    CHECK(Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1, .name = ""}));

    // The kernel's EINVAL: an array with 8-byte keys.
    const auto shape = Map::create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 8, .value_size = 4, .max_entries = 1,
                                    .name = "wide_key"});
    REQUIRE_FALSE(shape.has_value());
    CHECK(shape.error().kind() == ErrorKind::InvalidArgument);
    CHECK(shape.error().operation() == "BPF_MAP_CREATE");
    CHECK(contains(shape.error().message(), "key 8 bytes"));
    CHECK(contains(shape.error().message(), "arrays need 4-byte keys"));
}

TEST_CASE("map fd move and clone") {
    REQUIRE_FEATURE(maps);
    Map map = created_map(hash_spec);
    const int fd = map.fd().get();
    Map moved = std::move(map);
    CHECK(moved.fd().get() == fd);
    const auto clone = moved.fd().try_clone();
    REQUIRE(clone);
    CHECK(clone->get() >= 3);
    CHECK(clone->get() != fd);
    CHECK((fcntl(clone->get(), F_GETFD) & FD_CLOEXEC) != 0);
    const auto empty = MapFd().try_clone();
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().kind() == ErrorKind::InvalidArgument);
}
