// Map: creation, opening from pins and fds, pinning, and element access with size checks.
#include "sockfilter/map.hpp"

#include <cstddef>
#include <span>
#include <string>

#include "object_name.hpp"
#include "pin_path.hpp"
#include "pinned_object.hpp"
#include "sockfilter/cpus.hpp"
#include "sockfilter/sys.hpp"
#include "sockfilter/map_info.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter {

namespace {

bool per_cpu_type(bpf_map_type type) noexcept {
    switch (type) {
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: return true;
    default: return false;
    }
}

// The shape of a map as the kernel reports it.
MapSpec spec_of(const bpf_map_info& info, std::string_view name) noexcept {
    return {.type = static_cast<bpf_map_type>(info.type), .key_size = info.key_size, .value_size = info.value_size,
            .max_entries = info.max_entries, .flags = info.map_flags, .name = name};
}

// 0 for maps that are not per-CPU; the possible-CPU count otherwise.
Result<std::uint32_t> cpus_for(bpf_map_type type) {
    if (!per_cpu_type(type)) return 0U;
    return possible_cpu_count();
}

}  // namespace

Result<Map> Map::create(const MapSpec& spec) {
    if (auto checked = detail::check_object_name(spec.name, "map name"); !checked) return std::unexpected(std::move(checked.error()));
    const auto cpus = cpus_for(spec.type);
    if (!cpus) return std::unexpected(cpus.error());
    auto fd = sys::map_create({
        .map_type = spec.type,
        .key_size = spec.key_size,
        .value_size = spec.value_size,
        .max_entries = spec.max_entries,
        .map_flags = spec.flags,
        .name = spec.name,
        .numa_node = spec.numa_node,
        .btf_fd = spec.btf_fd >= 0 ? static_cast<std::uint32_t>(spec.btf_fd) : 0,
        .btf_key_type_id = spec.btf_fd >= 0 ? spec.btf_key_type_id : 0,
        .btf_value_type_id = spec.btf_fd >= 0 ? spec.btf_value_type_id : 0,
        .map_extra = spec.map_extra,
    });
    if (!fd) {
        return std::unexpected(std::move(fd.error()).with_detail(detail::concat({
            "map \"", spec.name, "\" of type ", std::uint64_t{spec.type}, ", key ", std::uint64_t{spec.key_size},
            " bytes, value ", std::uint64_t{spec.value_size}, " bytes, ", std::uint64_t{spec.max_entries}, " entries"})));
    }
    return adopt(std::move(*fd), spec, *cpus);
}

Map Map::adopt(MapFd fd, const MapSpec& spec, std::uint32_t possible_cpus) {
    Map map;
    map.fd_ = std::move(fd);
    map.type_ = spec.type;
    map.key_size_ = spec.key_size;
    map.value_size_ = spec.value_size;
    map.max_entries_ = spec.max_entries;
    map.flags_ = spec.flags;
    map.possible_cpus_ = possible_cpus;
    map.name_.assign(spec.name);
    return map;
}

Result<Map> Map::from_pin(std::string_view path) {
    // open_pinned_map has read fdinfo and made sure this is a map: one BPF_OBJ_GET_INFO_BY_FD is all that is left.
    auto fd = detail::open_pinned_map(path);
    if (!fd) return std::unexpected(std::move(fd.error()));
    bpf_map_info info;
    detail::zero(info);
    const auto size = sys::obj_get_info_by_fd(fd->get(), std::as_writable_bytes(std::span(&info, 1)));
    if (!size) return std::unexpected(size.error());
    const auto cpus = cpus_for(static_cast<bpf_map_type>(info.type));
    if (!cpus) return std::unexpected(cpus.error());
    const bool named = *size >= offsetof(bpf_map_info, name) + sizeof info.name;
    return adopt(std::move(*fd), spec_of(info, named ? detail::kernel_name(info.name, sizeof info.name) : ""), *cpus);
}

Result<Map> Map::from_fd(MapFd fd) {
    const auto info = MapInfo::from_fd(fd);
    if (!info) return std::unexpected(info.error());
    const auto cpus = cpus_for(info->map_type());
    if (!cpus) return std::unexpected(cpus.error());
    return adopt(std::move(fd), spec_of(info->raw(), info->name().value_or("")), *cpus);
}

Result<void> Map::pin(std::string_view path) { return detail::pin_recorded(fd_.get(), path, pin_path_, "map"); }

Result<void> Map::unpin() { return detail::unpin_recorded(pin_path_, "map"); }

std::optional<std::string_view> Map::pinned_path() const noexcept {
    if (pin_path_.empty()) return std::nullopt;
    return pin_path_;
}

Result<MapInfo> Map::info() const { return MapInfo::from_fd(fd_); }

std::size_t Map::value_buffer_size() const noexcept {
    if (!is_per_cpu()) return value_size_;
    return (std::size_t{value_size_} + 7) / 8 * 8 * possible_cpus_;
}

Result<void> Map::check_key(std::span<const std::byte> key, const char* operation) const {
    if (key.size() == key_size_) return {};
    return fail(ErrorKind::InvalidArgument, operation, 0,
                detail::concat({"the key has ", key.size(), " bytes; map \"", name_, "\" has ",
                                std::uint64_t{key_size_}, "-byte keys"}));
}

Result<void> Map::check_value(std::size_t size, const char* operation) const {
    if (size == value_buffer_size()) return {};
    if (!is_per_cpu()) {
        return fail(ErrorKind::InvalidArgument, operation, 0,
                    detail::concat({"the value has ", size, " bytes; map \"", name_, "\" has ",
                                    std::uint64_t{value_size_}, "-byte values"}));
    }
    return fail(ErrorKind::InvalidArgument, operation, 0,
                detail::concat({"the value buffer has ", size, " bytes; per-CPU map \"", name_, "\" needs ",
                                value_buffer_size(), " (", std::uint64_t{value_size_}, "-byte values rounded up to 8, for each of ",
                                std::uint64_t{possible_cpus_}, " possible CPUs)"}));
}

Result<void> Map::lookup(std::span<const std::byte> key, std::span<std::byte> value) const {
    if (auto checked = check_key(key, "BPF_MAP_LOOKUP_ELEM"); !checked) return checked;
    if (auto checked = check_value(value.size(), "BPF_MAP_LOOKUP_ELEM"); !checked) return checked;
    return sys::map_lookup_elem(fd_.get(), key, value);
}

Result<void> Map::update(std::span<const std::byte> key, std::span<const std::byte> value, std::uint64_t flags) {
    if (auto checked = check_key(key, "BPF_MAP_UPDATE_ELEM"); !checked) return checked;
    if (auto checked = check_value(value.size(), "BPF_MAP_UPDATE_ELEM"); !checked) return checked;
    return sys::map_update_elem(fd_.get(), key, value, flags);
}

Result<void> Map::erase(std::span<const std::byte> key) {
    if (auto checked = check_key(key, "BPF_MAP_DELETE_ELEM"); !checked) return checked;
    return sys::map_delete_elem(fd_.get(), key);
}

Result<bool> Map::next_key(std::span<const std::byte> key, std::span<std::byte> next_key) const {
    if (!key.empty()) {
        if (auto checked = check_key(key, "BPF_MAP_GET_NEXT_KEY"); !checked) return std::unexpected(std::move(checked.error()));
    }
    if (auto checked = check_key(next_key, "BPF_MAP_GET_NEXT_KEY"); !checked) return std::unexpected(std::move(checked.error()));
    const auto next = sys::map_get_next_key(fd_.get(), key, next_key);
    if (next) return true;
    if (next.error().kind() == ErrorKind::NotFound) return false;
    return std::unexpected(next.error());
}

Result<std::vector<std::vector<std::byte>>> Map::keys() const {
    std::vector<std::vector<std::byte>> out;
    std::vector<std::byte> current;
    for (;;) {
        std::vector<std::byte> next(key_size_);
        const auto found = next_key(current, next);
        if (!found) return std::unexpected(found.error());
        if (!*found) return out;
        out.push_back(next);
        current = std::move(next);
    }
}

Result<void> Map::freeze() { return sys::map_freeze(fd_.get()); }

}  // namespace sockfilter
