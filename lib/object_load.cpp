// Loading an object into the kernel: its BTF, then its maps (created, or reused from their pins),
// filled with their initial bytes and frozen where read-only.
#include <linux/bpf.h>

#include <cstring>
#include <memory>

#include "object_state.hpp"
#include "sockfilter/sys.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

constexpr std::size_t btf_log_size = std::size_t{64} * 1024;

/// The fixed-up .BTF (`btf`, the object's) loaded into the kernel; on a refusal, a second load with a log explains it.
Result<OwnedFd> load_btf(const ObjectState& state, const btf::Btf& btf) {
    const auto fixed = btf.fixed_for_kernel(
        [&](std::string_view section) -> std::optional<std::uint32_t> {
            const auto* found = state.elf.find_section(section);
            if (found == nullptr || found->size > UINT32_MAX) return std::nullopt;
            return static_cast<std::uint32_t>(found->size);
        },
        [&](std::string_view section, std::string_view variable) -> std::optional<std::uint32_t> {
            const auto* found = state.elf.find_section(section);
            if (found == nullptr) return std::nullopt;
            for (const auto& symbol : state.elf.symbols()) {
                if (symbol.section == found->index && symbol.name == variable && symbol.value <= UINT32_MAX) {
                    return static_cast<std::uint32_t>(symbol.value);
                }
            }
            return std::nullopt;
        });
    if (!fixed) return std::unexpected(fixed.error());
    auto loaded = sys::btf_load({.btf = *fixed});
    if (loaded) return loaded;
    auto log = std::make_unique_for_overwrite<char[]>(btf_log_size);
    auto retried = sys::btf_load({.btf = *fixed, .log = {log.get(), btf_log_size}, .log_level = 1});
    if (retried) return retried;  // accepted the second time: use it
    return std::unexpected(std::move(loaded.error()).with_log(std::string_view(log.get(), strnlen(log.get(), btf_log_size)),
                                                              retried.error().code().value() == ENOSPC));
}

std::string pin_path_of(std::string_view directory, std::string_view name) {
    std::string path(directory);
    if (!path.empty() && path.back() != '/') path.push_back('/');
    path.append(name);
    return path;
}

/// A map pinned at `path` by someone else is reused only when its shape is the object's.
Result<void> check_compatible(const Map& pinned, const ObjectMapSpec& spec, const std::string& path) {
    const auto mismatch = [&](const char* what, std::uint64_t theirs, std::uint64_t ours) -> Result<void> {
        return fail(ErrorKind::InvalidArgument, "map pin", 0,
                    concat({"the map pinned at ", path, " does not match map '", spec.name, "' of the object: ", what, " is ",
                            theirs, " there and ", ours, " here; remove the pin (rm ", path, ") or rename the map"}));
    };
    if (pinned.map_type() != spec.type) return mismatch("the type", pinned.map_type(), spec.type);
    if (pinned.key_size() != spec.key_size) return mismatch("key_size", pinned.key_size(), spec.key_size);
    if (pinned.value_size() != spec.value_size) return mismatch("value_size", pinned.value_size(), spec.value_size);
    if (pinned.max_entries() != spec.max_entries) return mismatch("max_entries", pinned.max_entries(), spec.max_entries);
    if (pinned.flags() != spec.flags) return mismatch("map_flags", pinned.flags(), spec.flags);
    return {};
}

/// BPF_MAP_CREATE with the map's BTF types when there are some; without them if the kernel refuses those.
Result<Map> create_map(const ObjectState& state, const ObjectMapSpec& spec, const ObjectMap& map) {
    MapSpec request{.type = static_cast<bpf_map_type>(spec.type),
                    .key_size = spec.key_size,
                    .value_size = spec.value_size,
                    .max_entries = spec.max_entries,
                    .flags = spec.flags,
                    .name = map.kernel_name,
                    .numa_node = map.numa_node,
                    .map_extra = map.map_extra};
    const bool typed = state.btf_fd && (map.btf_key_type_id != 0 || map.btf_value_type_id != 0);
    if (typed) {
        request.btf_fd = state.btf_fd.get();
        request.btf_key_type_id = map.btf_key_type_id;
        request.btf_value_type_id = map.btf_value_type_id;
    }
    auto created = Map::create(request);
    if (created || !typed) return created;
    request.btf_fd = -1;
    auto untyped = Map::create(request);
    if (untyped) return untyped;
    return created;  // the first error
}

/// The error of a step of loading map `spec`, its detail prefixed with the map's name in the object (the
/// kernel name of a global data map is not the section's, and a write or freeze error names no map).
std::unexpected<Error> naming(const ObjectMapSpec& spec, Error error) {
    const std::string_view detail = error.detail();
    error.with_detail(concat({"map '", spec.name, "' of the object", detail.empty() ? "" : ": ", detail}));
    return std::unexpected(std::move(error));
}

/// Creates (or reuses) map `index`, then writes its initial bytes, freezes it and pins it as declared.
Result<void> load_map(ObjectState& state, std::size_t index, const ObjectOptions& options) {
    const ObjectMapSpec& spec = state.map_specs[index];
    ObjectMap& map = state.maps[index];
    std::string path;
    if (spec.pinned_by_name) {
        path = pin_path_of(options.pin_directory, spec.name);
        auto pinned = Map::from_pin(path);
        if (pinned) {
            if (auto compatible = check_compatible(*pinned, spec, path); !compatible) return compatible;
            map.map.emplace(std::move(*pinned));
            return {};
        }
        if (pinned.error().kind() != ErrorKind::NotFound) return naming(spec, std::move(pinned.error()));
    }
    auto created = create_map(state, spec, map);
    if (!created) return naming(spec, std::move(created.error()));
    map.map.emplace(std::move(*created));
    if (map.origin == MapOrigin::GlobalData) {
        const std::uint32_t key = 0;
        if (auto written = map.map->update(std::as_bytes(std::span(&key, 1)), map.initial_bytes()); !written) {
            return naming(spec, std::move(written.error()));
        }
        if (map.freeze) {
            if (auto frozen = map.map->freeze(); !frozen) return naming(spec, std::move(frozen.error()));
        }
    }
    if (spec.pinned_by_name) {
        // Recorded in the map only once made: unpinned on a later failure.
        if (auto pinned = map.map->pin(path); !pinned) return naming(spec, std::move(pinned.error()));
    }
    return {};
}

Result<void> load_everything(ObjectState& state, const ObjectOptions& options) {
    if (state.btf && options.load_btf) {
        auto btf = load_btf(state, *state.btf);
        if (btf) {
            state.btf_fd = std::move(*btf);
        } else {
            state.btf_error.emplace(std::move(btf.error()));
        }
    }
    for (std::size_t i = 0; i < state.maps.size(); ++i) {
        if (auto loaded = load_map(state, i, options); !loaded) return loaded;
    }
    return {};
}

}  // namespace

Result<void> load_object(ObjectState& state, const ObjectOptions& options) {
    if (state.loaded) return fail(ErrorKind::AlreadyLoaded, "object load", 0, "the object is loaded already");
    auto loaded = load_everything(state, options);
    if (!loaded) {
        for (auto& map : state.maps) {
            if (map.map && map.map->pinned_path()) (void)map.map->unpin();
            map.map.reset();
        }
        state.btf_fd.reset();
        state.btf_error.reset();
        return loaded;
    }
    state.loaded = true;
    return {};
}

}  // namespace sockfilter::detail
