// MapInfo: reading bpf_map_info and fdinfo; walking every map in the kernel.
#include "sockfilter/map_info.hpp"

#include <cerrno>
#include <cstddef>
#include <string>

#include "fdinfo.hpp"
#include "id_walk.hpp"
#include "object_name.hpp"
#include "pinned_object.hpp"
#include "sockfilter/sys.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter {

namespace {

#define SOCKFILTER_MAP_INFO_END(field) (offsetof(bpf_map_info, field) + sizeof(bpf_map_info{}.field))

}  // namespace

Result<MapInfo> MapInfo::from_fd(const MapFd& map) { return from_fd(map.get()); }

Result<MapInfo> MapInfo::from_fd(int map_fd) {
    MapInfo out;
    // A program or link fd would make the kernel fill its own info struct into ours: check the kind first.
    // A fd that is no BPF object is left to the kernel (EINVAL); without /proc (or for a closed fd: ENOENT)
    // the check is skipped. Any other failure to read fdinfo is reported, never taken as "no /proc".
    const auto fdinfo = detail::read_fdinfo(map_fd);
    if (fdinfo) {
        if (fdinfo->prog_type || fdinfo->link) {
            auto checked = detail::require_map(*fdinfo, std::nullopt, "BPF_OBJ_GET_INFO_BY_FD",
                                               detail::concat({" is behind fd ", static_cast<std::uint64_t>(map_fd)}));
            return std::unexpected(std::move(checked.error()));
        }
        out.frozen_ = fdinfo->frozen;
        out.memory_locked_ = fdinfo->memlock;
    } else if (fdinfo.error().code().value() != ENOENT) {
        return std::unexpected(fdinfo.error());
    }
    detail::zero(out.info_);
    const auto size = sys::obj_get_info_by_fd(map_fd, std::as_writable_bytes(std::span(&out.info_, 1)));
    if (!size) return std::unexpected(size.error());
    out.info_size_ = *size;
    return out;
}

std::optional<std::string_view> MapInfo::name() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(name))) return std::nullopt;
    return detail::kernel_name(info_.name, sizeof info_.name);
}

std::optional<std::uint32_t> MapInfo::ifindex() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(ifindex))) return std::nullopt;
    return info_.ifindex;
}

std::optional<std::uint32_t> MapInfo::btf_vmlinux_value_type_id() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(btf_vmlinux_value_type_id))) return std::nullopt;
    return info_.btf_vmlinux_value_type_id;
}

std::optional<std::uint32_t> MapInfo::btf_id() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(btf_id)) || info_.btf_id == 0) return std::nullopt;
    return info_.btf_id;
}

std::optional<std::uint32_t> MapInfo::btf_key_type_id() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(btf_key_type_id))) return std::nullopt;
    return info_.btf_key_type_id;
}

std::optional<std::uint32_t> MapInfo::btf_value_type_id() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(btf_value_type_id))) return std::nullopt;
    return info_.btf_value_type_id;
}

std::optional<std::uint64_t> MapInfo::map_extra() const noexcept {
    if (!has(SOCKFILTER_MAP_INFO_END(map_extra))) return std::nullopt;
    return info_.map_extra;
}

Result<MapFd> MapInfo::fd() const { return sys::map_get_fd_by_id(info_.id); }

Result<std::vector<MapInfo>> loaded_maps() {
    return detail::walk_ids<MapInfo>(
        [](std::uint32_t id) { return sys::map_get_next_id(id); },
        [](std::uint32_t id) { return sys::map_get_fd_by_id(id); },
        [](const auto& fd) { return MapInfo::from_fd(fd); });
}

}  // namespace sockfilter
