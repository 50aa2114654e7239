// MapInfo: what the kernel tells about a map (BPF_OBJ_GET_INFO_BY_FD), as typed values.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/map_fd.hpp"

namespace sockfilter {

/// A snapshot of `struct bpf_map_info` for one map (Linux 4.13+). Fields the running kernel does not fill
/// (it returns a shorter struct) read as std::nullopt, never as a made-up 0.
class MapInfo final {
public:
    /// Reads the info of the map behind `map` (borrowed): /proc/self/fdinfo (the kind of object, frozen
    /// state, memory) and one BPF_OBJ_GET_INFO_BY_FD. Errors: UnexpectedMapType for a program or link fd;
    /// EBADF for a closed fd, EINVAL for an fd that is no BPF object; operation "fdinfo" when /proc/self/fdinfo
    /// exists but cannot be read (EMFILE, ENOMEM, …; without /proc the kind check is skipped).
    [[nodiscard]] static Result<MapInfo> from_fd(const MapFd& map);
    /// As from_fd, for a raw borrowed fd.
    [[nodiscard]] static Result<MapInfo> from_fd(int map_fd);

    /// Kernel-wide map id (4.13).
    [[nodiscard]] std::uint32_t id() const noexcept { return info_.id; }
    /// enum bpf_map_type (4.13).
    [[nodiscard]] bpf_map_type map_type() const noexcept { return static_cast<bpf_map_type>(info_.type); }
    /// Bytes per key (4.13).
    [[nodiscard]] std::uint32_t key_size() const noexcept { return info_.key_size; }
    /// Bytes per value, per CPU for per-CPU maps (4.13).
    [[nodiscard]] std::uint32_t value_size() const noexcept { return info_.value_size; }
    /// Capacity (4.13).
    [[nodiscard]] std::uint32_t max_entries() const noexcept { return info_.max_entries; }
    /// BPF_F_* flags given at creation (4.13).
    [[nodiscard]] std::uint32_t flags() const noexcept { return info_.map_flags; }
    /// The name given at creation (4.15); nullopt on older kernels.
    [[nodiscard]] std::optional<std::string_view> name() const noexcept;
    /// Offload device ifindex (4.16); 0 when not offloaded.
    [[nodiscard]] std::optional<std::uint32_t> ifindex() const noexcept;
    /// BTF type of a kernel struct stored as the value (struct_ops maps, 5.6).
    [[nodiscard]] std::optional<std::uint32_t> btf_vmlinux_value_type_id() const noexcept;
    /// Id of the map's BTF object; nullopt if the kernel lacks the field (4.18) or the map has no BTF.
    [[nodiscard]] std::optional<std::uint32_t> btf_id() const noexcept;
    /// BTF types of key and value (4.18); 0 without BTF.
    [[nodiscard]] std::optional<std::uint32_t> btf_key_type_id() const noexcept;
    [[nodiscard]] std::optional<std::uint32_t> btf_value_type_id() const noexcept;
    /// The per-type extra given at creation (bloom filter hash count, 5.16).
    [[nodiscard]] std::optional<std::uint64_t> map_extra() const noexcept;
    /// True after BPF_MAP_FREEZE ("frozen" in /proc/self/fdinfo, 5.2); nullopt when unknown.
    [[nodiscard]] std::optional<bool> frozen() const noexcept { return frozen_; }
    /// Bytes charged for the map ("memlock" in /proc/self/fdinfo); nullopt when /proc is unavailable.
    [[nodiscard]] std::optional<std::uint64_t> memory_locked() const noexcept { return memory_locked_; }
    /// Bytes of bpf_map_info the kernel filled: tells which fields this kernel knows.
    [[nodiscard]] std::uint32_t info_size() const noexcept { return info_size_; }

    /// Opens a new fd for this map by id (BPF_MAP_GET_FD_BY_ID, CAP_SYS_ADMIN).
    /// Errors: NotFound when the map has been freed since.
    [[nodiscard]] Result<MapFd> fd() const;

    /// The raw struct as the kernel filled it.
    [[nodiscard]] const bpf_map_info& raw() const noexcept { return info_; }

private:
    MapInfo() = default;
    [[nodiscard]] bool has(std::size_t field_end) const noexcept { return info_size_ >= field_end; }

    bpf_map_info info_{};
    std::uint32_t info_size_ = 0;
    std::optional<bool> frozen_;
    std::optional<std::uint64_t> memory_locked_;
};

/// Every map in the kernel, walking ids with BPF_MAP_GET_NEXT_ID and BPF_MAP_GET_FD_BY_ID (Linux 4.13,
/// CAP_SYS_ADMIN). Maps freed during the walk are skipped. Errors: PermissionDenied without CAP_SYS_ADMIN.
[[nodiscard]] Result<std::vector<MapInfo>> loaded_maps();

}  // namespace sockfilter
