// Typed views over a Map: keys and values as trivially copyable C++ types, checked against the map.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/map.hpp"

namespace sockfilter {

namespace detail {

/// Success when `map` has type `type`, `key_size`-byte keys and `value_size`-byte values; otherwise
/// UnexpectedMapType (type) or InvalidArgument (sizes) naming `view`, what it needs and what the map has.
[[nodiscard]] Result<void> check_map_view(const Map& map, bpf_map_type type, std::size_t key_size, std::size_t value_size,
                                          const char* view);

/// "got N values; the per-CPU map needs one per possible CPU (C)", for a count mismatch.
[[nodiscard]] std::string per_cpu_count_message(std::size_t given, std::uint32_t cpus);

/// The bytes of a trivially copyable object.
template <typename T>
std::span<const std::byte> object_bytes(const T& value) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return std::as_bytes(std::span(&value, 1));
}

/// The writable bytes of a trivially copyable object.
template <typename T>
std::span<std::byte> writable_object_bytes(T& value) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return std::as_writable_bytes(std::span(&value, 1));
}

/// Owns a Map checked for one type and key/value sizes; the base of every typed view.
template <typename K, typename V, bpf_map_type Type>
class MapView {
    static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>,
                  "map keys and values are copied as bytes: they must be trivially copyable");

public:
    /// The map kind this view reads.
    static constexpr bpf_map_type MAP_TYPE = Type;

    /// The map, borrowed (for fd(), pin(), info(), …).
    [[nodiscard]] const Map& map() const noexcept { return map_; }
    [[nodiscard]] Map& map() noexcept { return map_; }
    /// Gives the map back, leaving the view empty.
    [[nodiscard]] Map into_map() && noexcept { return std::move(map_); }

protected:
    // cppcheck-suppress passedByValue ; a sink: the Map (move-only) is moved into the member
    explicit MapView(Map map) noexcept : map_(std::move(map)) {}
    [[nodiscard]] static Result<void> check(const Map& map, const char* view) {
        return check_map_view(map, Type, sizeof(K), sizeof(V), view);
    }

    Map map_;
};

/// What every hash view has besides get and insert: removing a key and listing the keys.
template <typename K, typename V, bpf_map_type Type>
class HashView : public MapView<K, V, Type> {
public:
    /// BPF_MAP_DELETE_ELEM. Errors: NotFound when the key is absent; PermissionDenied on a frozen map.
    [[nodiscard]] Result<void> remove(const K& key) { return this->map_.erase(object_bytes(key)); }

    /// Every key (a snapshot; see Map::keys()).
    [[nodiscard]] Result<std::vector<K>> keys() const {
        std::vector<K> out;
        K current{};
        K next{};
        std::span<const std::byte> previous;  // empty: start from the first key
        for (;;) {
            const auto found = this->map_.next_key(previous, writable_object_bytes(next));
            if (!found) return std::unexpected(found.error());
            if (!*found) return out;
            out.push_back(next);
            current = next;
            previous = object_bytes(current);
        }
    }

protected:
    using MapView<K, V, Type>::MapView;
};

/// One value per possible CPU in the kernel's layout: slots of round_up(sizeof(V), 8) bytes.
template <typename V>
std::vector<V> from_cpu_slots(std::span<const std::byte> slots, std::uint32_t cpus) {
    const std::size_t slot = (sizeof(V) + 7) / 8 * 8;
    std::vector<V> out(cpus);
    for (std::size_t cpu = 0; cpu < cpus; ++cpu) std::memcpy(&out[cpu], slots.data() + cpu * slot, sizeof(V));
    return out;
}

/// `values` (one per possible CPU) laid out in the kernel's slots; InvalidArgument on a count mismatch.
template <typename V>
Result<std::vector<std::byte>> to_cpu_slots(const Map& map, std::span<const V> values, const char* operation) {
    if (values.size() != map.possible_cpus()) {
        return fail(ErrorKind::InvalidArgument, operation, 0, per_cpu_count_message(values.size(), map.possible_cpus()));
    }
    const std::size_t slot = (sizeof(V) + 7) / 8 * 8;
    std::vector<std::byte> out(map.value_buffer_size());
    for (std::size_t cpu = 0; cpu < values.size(); ++cpu) std::memcpy(out.data() + cpu * slot, &values[cpu], sizeof(V));
    return out;
}

}  // namespace detail

/// BPF_MAP_TYPE_ARRAY (Linux 3.19) of V, indexed 0 … max_entries − 1. Elements always exist (zeroed at
/// creation) and cannot be removed.
template <typename V>
class Array final : public detail::MapView<std::uint32_t, V, BPF_MAP_TYPE_ARRAY> {
public:
    /// Takes `map` after checking its type and sizes (4-byte keys, sizeof(V)-byte values).
    /// Errors: UnexpectedMapType; InvalidArgument naming the sizes.
    [[nodiscard]] static Result<Array> from(Map map) {
        if (auto checked = Array::check(map, "Array"); !checked) return std::unexpected(std::move(checked.error()));
        return Array(std::move(map));
    }
    /// Number of elements (max_entries).
    [[nodiscard]] std::uint32_t size() const noexcept { return this->map_.max_entries(); }
    /// The value at `index`. Errors: NotFound when index >= size().
    [[nodiscard]] Result<V> get(std::uint32_t index) const {
        V value{};
        if (auto found = this->map_.lookup(detail::object_bytes(index), detail::writable_object_bytes(value)); !found) {
            return std::unexpected(std::move(found.error()));
        }
        return value;
    }
    /// Stores `value` at `index` (BPF_ANY or BPF_EXIST; BPF_NOEXIST always fails with AlreadyExists).
    /// Errors: TooBig when index >= size(); PermissionDenied on a frozen map.
    [[nodiscard]] Result<void> set(std::uint32_t index, const V& value, std::uint64_t flags = BPF_ANY) {
        return this->map_.update(detail::object_bytes(index), detail::object_bytes(value), flags);
    }

private:
    using detail::MapView<std::uint32_t, V, BPF_MAP_TYPE_ARRAY>::MapView;
};

/// A hash map view: BPF_MAP_TYPE_HASH (HashMap, Linux 3.19) or BPF_MAP_TYPE_LRU_HASH (LruHashMap, 4.10,
/// which evicts the least recently used key instead of failing when full).
template <typename K, typename V, bpf_map_type Type>
class BasicHashMap final : public detail::HashView<K, V, Type> {
public:
    /// Takes `map` after checking its type and sizes. Errors: UnexpectedMapType; InvalidArgument.
    [[nodiscard]] static Result<BasicHashMap> from(Map map) {
        if (auto checked = BasicHashMap::check(map, Type == BPF_MAP_TYPE_LRU_HASH ? "LruHashMap" : "HashMap"); !checked) {
            return std::unexpected(std::move(checked.error()));
        }
        return BasicHashMap(std::move(map));
    }
    /// The value of `key`. Errors: NotFound when absent.
    [[nodiscard]] Result<V> get(const K& key) const {
        V value{};
        if (auto found = this->map_.lookup(detail::object_bytes(key), detail::writable_object_bytes(value)); !found) {
            return std::unexpected(std::move(found.error()));
        }
        return value;
    }
    /// Stores `value` under `key` with BPF_ANY, BPF_NOEXIST or BPF_EXIST. Errors: AlreadyExists
    /// (NOEXIST), NotFound (EXIST), TooBig (HashMap full), PermissionDenied (frozen).
    [[nodiscard]] Result<void> insert(const K& key, const V& value, std::uint64_t flags = BPF_ANY) {
        return this->map_.update(detail::object_bytes(key), detail::object_bytes(value), flags);
    }

private:
    using detail::HashView<K, V, Type>::HashView;
};

/// BPF_MAP_TYPE_HASH of K → V.
template <typename K, typename V>
using HashMap = BasicHashMap<K, V, BPF_MAP_TYPE_HASH>;
/// BPF_MAP_TYPE_LRU_HASH of K → V.
template <typename K, typename V>
using LruHashMap = BasicHashMap<K, V, BPF_MAP_TYPE_LRU_HASH>;

/// BPF_MAP_TYPE_PERCPU_ARRAY (Linux 4.6): each index holds one V per possible CPU, in CPU order.
template <typename V>
class PerCpuArray final : public detail::MapView<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY> {
public:
    /// Takes `map` after checking its type and sizes. Errors: UnexpectedMapType; InvalidArgument.
    [[nodiscard]] static Result<PerCpuArray> from(Map map) {
        if (auto checked = PerCpuArray::check(map, "PerCpuArray"); !checked) return std::unexpected(std::move(checked.error()));
        return PerCpuArray(std::move(map));
    }
    /// Number of elements (max_entries).
    [[nodiscard]] std::uint32_t size() const noexcept { return this->map_.max_entries(); }
    /// The values at `index`, one per possible CPU. Errors: NotFound when index >= size().
    [[nodiscard]] Result<std::vector<V>> get(std::uint32_t index) const {
        std::vector<std::byte> slots(this->map_.value_buffer_size());
        if (auto found = this->map_.lookup(detail::object_bytes(index), slots); !found) return std::unexpected(std::move(found.error()));
        return detail::from_cpu_slots<V>(slots, this->map_.possible_cpus());
    }
    /// Stores `values` (exactly one per possible CPU) at `index`. Errors: InvalidArgument (count);
    /// TooBig (index); PermissionDenied (frozen).
    [[nodiscard]] Result<void> set(std::uint32_t index, std::span<const V> values, std::uint64_t flags = BPF_ANY) {
        const auto slots = detail::to_cpu_slots(this->map_, values, "BPF_MAP_UPDATE_ELEM");
        if (!slots) return std::unexpected(slots.error());
        return this->map_.update(detail::object_bytes(index), *slots, flags);
    }

private:
    using detail::MapView<std::uint32_t, V, BPF_MAP_TYPE_PERCPU_ARRAY>::MapView;
};

/// BPF_MAP_TYPE_PERCPU_HASH (Linux 4.6) of K → one V per possible CPU, in CPU order.
template <typename K, typename V>
class PerCpuHashMap final : public detail::HashView<K, V, BPF_MAP_TYPE_PERCPU_HASH> {
public:
    /// Takes `map` after checking its type and sizes. Errors: UnexpectedMapType; InvalidArgument.
    [[nodiscard]] static Result<PerCpuHashMap> from(Map map) {
        if (auto checked = PerCpuHashMap::check(map, "PerCpuHashMap"); !checked) return std::unexpected(std::move(checked.error()));
        return PerCpuHashMap(std::move(map));
    }
    /// The values of `key`, one per possible CPU. Errors: NotFound when absent.
    [[nodiscard]] Result<std::vector<V>> get(const K& key) const {
        std::vector<std::byte> slots(this->map_.value_buffer_size());
        if (auto found = this->map_.lookup(detail::object_bytes(key), slots); !found) return std::unexpected(std::move(found.error()));
        return detail::from_cpu_slots<V>(slots, this->map_.possible_cpus());
    }
    /// Stores `values` (exactly one per possible CPU) under `key`. Errors: InvalidArgument (count);
    /// AlreadyExists (NOEXIST); NotFound (EXIST); TooBig (full); PermissionDenied (frozen).
    [[nodiscard]] Result<void> insert(const K& key, std::span<const V> values, std::uint64_t flags = BPF_ANY) {
        const auto slots = detail::to_cpu_slots(this->map_, values, "BPF_MAP_UPDATE_ELEM");
        if (!slots) return std::unexpected(slots.error());
        return this->map_.update(detail::object_bytes(key), *slots, flags);
    }

private:
    using detail::HashView<K, V, BPF_MAP_TYPE_PERCPU_HASH>::HashView;
};

}  // namespace sockfilter
