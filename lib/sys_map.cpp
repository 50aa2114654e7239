// sys:: map commands: create, element access, iteration, freezing and walking maps by id.
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "object_name.hpp"
#include "sockfilter/sys.hpp"
#include "sys_common.hpp"
#include "syscall.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter::sys {

namespace {

// The attr size of a create request: up to the last optional field that is set.
unsigned map_create_size(const MapCreateRequest& request) noexcept {
    if (request.map_extra != 0) return SOCKFILTER_ATTR_END(map_extra);
    if (request.btf_vmlinux_value_type_id != 0) return SOCKFILTER_ATTR_END(btf_vmlinux_value_type_id);
    if (request.btf_fd != 0 || request.btf_key_type_id != 0 || request.btf_value_type_id != 0) {
        return SOCKFILTER_ATTR_END(btf_value_type_id);
    }
    if (request.ifindex != 0) return SOCKFILTER_ATTR_END(map_ifindex);
    return SOCKFILTER_ATTR_END(map_name);
}

// Fills the element part of the attr shared by lookup, update, delete and get-next-key.
void set_element(bpf_attr& attr, int map_fd, std::span<const std::byte> key) noexcept {
    attr.map_fd = static_cast<std::uint32_t>(map_fd);
    attr.key = detail::bits_or_null(key);
}

}  // namespace

Result<MapFd> map_create(const MapCreateRequest& request) {
    if (request.name.size() >= BPF_OBJ_NAME_LEN) {
        return fail(ErrorKind::InvalidArgument, "BPF_MAP_CREATE", 0,
                    detail::concat({"the map name \"", request.name, "\" is longer than 15 bytes"}));
    }
    bpf_attr attr;
    detail::zero(attr);
    attr.map_type = request.map_type;
    attr.key_size = request.key_size;
    attr.value_size = request.value_size;
    attr.max_entries = request.max_entries;
    attr.map_flags = request.map_flags;
    attr.inner_map_fd = request.inner_map_fd;
    attr.numa_node = request.numa_node;
    detail::copy_name(attr.map_name, request.name);
    attr.map_ifindex = request.ifindex;
    attr.btf_fd = request.btf_fd;
    attr.btf_key_type_id = request.btf_key_type_id;
    attr.btf_value_type_id = request.btf_value_type_id;
    attr.btf_vmlinux_value_type_id = request.btf_vmlinux_value_type_id;
    attr.map_extra = request.map_extra;
    return Result<MapFd>(detail::adopt_fd(detail::os::bpf(BPF_MAP_CREATE, &attr, map_create_size(request)), "BPF_MAP_CREATE"));
}

Result<void> map_lookup_elem(int map_fd, std::span<const std::byte> key, std::span<std::byte> value, std::uint64_t flags) {
    bpf_attr attr;
    detail::zero(attr);
    set_element(attr, map_fd, key);
    attr.value = detail::bits_or_null(value);
    attr.flags = flags;
    const unsigned size = flags != 0 ? SOCKFILTER_ATTR_END(flags) : SOCKFILTER_ATTR_END(value);
    return detail::void_or_errno(detail::os::bpf(BPF_MAP_LOOKUP_ELEM, &attr, size), "BPF_MAP_LOOKUP_ELEM");
}

Result<void> map_update_elem(int map_fd, std::span<const std::byte> key, std::span<const std::byte> value, std::uint64_t flags) {
    bpf_attr attr;
    detail::zero(attr);
    set_element(attr, map_fd, key);
    attr.value = detail::bits_or_null(value);
    attr.flags = flags;
    return detail::void_or_errno(detail::os::bpf(BPF_MAP_UPDATE_ELEM, &attr, SOCKFILTER_ATTR_END(flags)), "BPF_MAP_UPDATE_ELEM");
}

Result<void> map_delete_elem(int map_fd, std::span<const std::byte> key) {
    bpf_attr attr;
    detail::zero(attr);
    set_element(attr, map_fd, key);
    return detail::void_or_errno(detail::os::bpf(BPF_MAP_DELETE_ELEM, &attr, SOCKFILTER_ATTR_END(key)), "BPF_MAP_DELETE_ELEM");
}

Result<void> map_get_next_key(int map_fd, std::span<const std::byte> key, std::span<std::byte> next_key) {
    bpf_attr attr;
    detail::zero(attr);
    set_element(attr, map_fd, key);
    attr.next_key = detail::bits_or_null(next_key);
    return detail::void_or_errno(detail::os::bpf(BPF_MAP_GET_NEXT_KEY, &attr, SOCKFILTER_ATTR_END(next_key)), "BPF_MAP_GET_NEXT_KEY");
}

Result<void> map_freeze(int map_fd) {
    bpf_attr attr;
    detail::zero(attr);
    attr.map_fd = static_cast<std::uint32_t>(map_fd);
    auto frozen = detail::void_or_errno(detail::os::bpf(BPF_MAP_FREEZE, &attr, SOCKFILTER_ATTR_END(map_fd)), "BPF_MAP_FREEZE");
    // A second freeze: EPERM on 6.18, EBUSY on 6.1. One kind for both, the errno as the kernel gave it.
    if (!frozen && frozen.error().code().value() == EBUSY) frozen.error().with_kind(ErrorKind::PermissionDenied);
    return frozen;
}

Result<std::uint32_t> map_get_next_id(std::uint32_t start_id) {
    return detail::next_id(BPF_MAP_GET_NEXT_ID, start_id, "BPF_MAP_GET_NEXT_ID");
}

Result<MapFd> map_get_fd_by_id(std::uint32_t id, std::uint32_t open_flags) {
    bpf_attr attr;
    detail::zero(attr);
    attr.map_id = id;
    attr.open_flags = open_flags;
    return Result<MapFd>(
        detail::adopt_fd(detail::os::bpf(BPF_MAP_GET_FD_BY_ID, &attr, SOCKFILTER_ATTR_END(open_flags)), "BPF_MAP_GET_FD_BY_ID"));
}

}  // namespace sockfilter::sys
