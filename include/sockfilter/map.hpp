// Map: a BPF map owned through its fd, with byte-level element access checked against its sizes.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/map_fd.hpp"
#include "sockfilter/map_info.hpp"

namespace sockfilter {

/// What Map::create makes: the shape of a new map.
struct MapSpec {
    bpf_map_type type = BPF_MAP_TYPE_UNSPEC;  ///< BPF_MAP_TYPE_ARRAY, _HASH, _LRU_HASH, _PERCPU_ARRAY, …
    std::uint32_t key_size = 0;               ///< bytes per key (arrays: 4)
    std::uint32_t value_size = 0;             ///< bytes per value (per CPU for per-CPU maps)
    std::uint32_t max_entries = 0;            ///< capacity
    std::uint32_t flags = 0;                  ///< BPF_F_* map flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, …)
    std::string_view name{};                  ///< at most 15 of [A-Za-z0-9_.] (may be empty)
    int btf_fd = -1;                          ///< BTF object describing key and value (Linux 4.18); -1: none
    std::uint32_t btf_key_type_id = 0;        ///< BTF type id of the key (with btf_fd)
    std::uint32_t btf_value_type_id = 0;      ///< BTF type id of the value (with btf_fd)
    std::uint32_t numa_node = 0;              ///< with BPF_F_NUMA_NODE in flags only
    std::uint64_t map_extra = 0;              ///< per-type extra (bloom filter hash count; Linux 5.16)
};

/// One BPF map: owns its fd (move-only; closing frees the map unless a program, pin or other fd holds it)
/// and knows its type and sizes, against which every element access is checked before the syscall.
/// Keys and values are raw bytes here; see typed_maps.hpp for typed views. Per-CPU maps take and give one
/// value slot per possible CPU, each value_size rounded up to 8 bytes (value_buffer_size()).
class Map final {
public:
    /// BPF_MAP_CREATE (Linux 3.18; names 4.15). Needs CAP_BPF (5.8+) or CAP_SYS_ADMIN. Per-CPU types read
    /// the possible-CPU count once here. Errors: InvalidArgument (name, or the kernel's EINVAL for a shape
    /// the type refuses); PermissionDenied; TooBig; the possible-CPU read.
    [[nodiscard]] static Result<Map> create(const MapSpec& spec);

    /// The map pinned at `path` (BPF_OBJ_GET, Linux 4.4), type and sizes read from the kernel. Anything
    /// else pinned there (a program, a link) is UnexpectedMapType and its fd is closed.
    /// Errors: InvalidArgument (bad path); NotFound; PermissionDenied (not a pin, or no access).
    [[nodiscard]] static Result<Map> from_pin(std::string_view path);

    /// Adopts `fd` (from sys::map_get_fd_by_id, sys::obj_get, …) after checking through /proc/self/fdinfo
    /// that it is a map, and reads its type and sizes. Errors: UnexpectedMapType (the fd is closed).
    [[nodiscard]] static Result<Map> from_fd(MapFd fd);

    /// BPF_OBJ_PIN (Linux 4.4) at `path` on a bpffs (a relative path is made absolute against the working
    /// directory); the path is recorded for unpin() only once the pin exists. Errors: as Program::pin
    /// (PermissionDenied off bpffs, AlreadyExists, NotFound parent, …).
    [[nodiscard]] Result<void> pin(std::string_view path);
    /// Removes the pin this object made. Errors: NotFound when it made none; the unlink errno.
    [[nodiscard]] Result<void> unpin();
    /// The absolute path of this object's pin, if it made one.
    [[nodiscard]] std::optional<std::string_view> pinned_path() const noexcept;

    /// The kernel's view of the map (BPF_OBJ_GET_INFO_BY_FD, Linux 4.13).
    [[nodiscard]] Result<MapInfo> info() const;

    /// The map fd, borrowed (e.g. for insn::ld_map_fd).
    [[nodiscard]] const MapFd& fd() const noexcept { return fd_; }
    /// enum bpf_map_type.
    [[nodiscard]] bpf_map_type map_type() const noexcept { return type_; }
    /// Bytes per key.
    [[nodiscard]] std::uint32_t key_size() const noexcept { return key_size_; }
    /// Bytes per value (per CPU for per-CPU maps).
    [[nodiscard]] std::uint32_t value_size() const noexcept { return value_size_; }
    /// Capacity.
    [[nodiscard]] std::uint32_t max_entries() const noexcept { return max_entries_; }
    /// BPF_F_* flags given at creation.
    [[nodiscard]] std::uint32_t flags() const noexcept { return flags_; }
    /// The map's name (as given, or as the kernel reports it).
    [[nodiscard]] std::string_view name() const noexcept { return name_; }
    /// True for the per-CPU types (PERCPU_ARRAY, PERCPU_HASH, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE).
    [[nodiscard]] bool is_per_cpu() const noexcept { return possible_cpus_ != 0; }
    /// Possible CPUs, for per-CPU maps (one value slot each); 0 for other maps.
    [[nodiscard]] std::uint32_t possible_cpus() const noexcept { return possible_cpus_; }
    /// Bytes one lookup or update transfers: value_size(), or round_up(value_size(), 8) × possible_cpus()
    /// for per-CPU maps.
    [[nodiscard]] std::size_t value_buffer_size() const noexcept;

    /// BPF_MAP_LOOKUP_ELEM: copies the value of `key` (key_size() bytes) into `value`
    /// (value_buffer_size() bytes). Errors: InvalidArgument on a size mismatch (nothing reaches the
    /// kernel); NotFound when the key is absent.
    [[nodiscard]] Result<void> lookup(std::span<const std::byte> key, std::span<std::byte> value) const;
    /// BPF_MAP_UPDATE_ELEM with BPF_ANY, BPF_NOEXIST or BPF_EXIST. Errors: InvalidArgument (sizes, flags);
    /// AlreadyExists (NOEXIST on a present key; arrays always); NotFound (EXIST on an absent key); TooBig
    /// (map full or index out of range); PermissionDenied (frozen map).
    [[nodiscard]] Result<void> update(std::span<const std::byte> key, std::span<const std::byte> value,
                                      std::uint64_t flags = BPF_ANY);
    /// BPF_MAP_DELETE_ELEM. Errors: InvalidArgument (key size; arrays cannot delete); NotFound;
    /// PermissionDenied (frozen map).
    [[nodiscard]] Result<void> erase(std::span<const std::byte> key);
    /// BPF_MAP_GET_NEXT_KEY: writes the key after `key` (empty: the first key) into `next_key`; false
    /// after the last key. A hash map restarts from its first key when `key` is absent.
    /// Errors: InvalidArgument on a size mismatch.
    [[nodiscard]] Result<bool> next_key(std::span<const std::byte> key, std::span<std::byte> next_key) const;
    /// Every key, in the kernel's order (one BPF_MAP_GET_NEXT_KEY per key): a snapshot that concurrent
    /// updates may make inexact.
    [[nodiscard]] Result<std::vector<std::vector<std::byte>>> keys() const;
    /// BPF_MAP_FREEZE (Linux 5.2): no more updates or deletes through syscalls, for good; programs may
    /// still write. Errors: PermissionDenied when already frozen or without CAP_BPF.
    [[nodiscard]] Result<void> freeze();

private:
    Map() = default;
    /// Takes `fd`, a map of the shape `spec` gives (type, sizes, flags, name), with `possible_cpus` value
    /// slots (0 unless per-CPU).
    [[nodiscard]] static Map adopt(MapFd fd, const MapSpec& spec, std::uint32_t possible_cpus);
    [[nodiscard]] Result<void> check_key(std::span<const std::byte> key, const char* operation) const;
    [[nodiscard]] Result<void> check_value(std::size_t size, const char* operation) const;

    MapFd fd_;
    bpf_map_type type_ = BPF_MAP_TYPE_UNSPEC;
    std::uint32_t key_size_ = 0;
    std::uint32_t value_size_ = 0;
    std::uint32_t max_entries_ = 0;
    std::uint32_t flags_ = 0;
    std::uint32_t possible_cpus_ = 0;
    std::string name_;
    std::string pin_path_;
};

}  // namespace sockfilter
