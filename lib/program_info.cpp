// ProgramInfo: reading bpf_prog_info, its map ids and fdinfo; walking every loaded program.
#include "sockfilter/program_info.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

#include "fdinfo.hpp"
#include "object_name.hpp"
#include "id_walk.hpp"
#include "pinned_object.hpp"
#include "sockfilter/sys.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter {

namespace {

#define SOCKFILTER_INFO_END(field) (offsetof(bpf_prog_info, field) + sizeof(bpf_prog_info{}.field))

std::chrono::nanoseconds clock_now(clockid_t clock) noexcept {
    timespec now{};
    if (clock_gettime(clock, &now) != 0) return {};  // only for a bad clock id; ours are fixed
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

std::span<std::byte> bytes_of(bpf_prog_info& info) noexcept {
    return {reinterpret_cast<std::byte*>(&info), sizeof info};
}

}  // namespace

Result<ProgramInfo> ProgramInfo::from_fd(const ProgramFd& program) { return from_fd(program.get()); }

Result<ProgramInfo> ProgramInfo::from_fd(int program_fd) {
    ProgramInfo out;
    // fdinfo tells a map or link fd from a program fd (their info structs differ, and the kernel would
    // fill the wrong one). A fd that is no BPF object is left to the kernel (EINVAL). Without /proc (or
    // for a closed fd: ENOENT) the check is skipped and memory_locked() stays empty; any other failure to
    // read it (EMFILE, ENOMEM, EINTR, …) is reported, never taken as "no /proc".
    const auto fdinfo = detail::read_fdinfo(program_fd);
    if (fdinfo) {
        if (fdinfo->map_type || fdinfo->link) {
            auto checked = detail::require_program(*fdinfo, std::nullopt, "BPF_OBJ_GET_INFO_BY_FD",
                                                   detail::concat({" is behind fd ", static_cast<std::uint64_t>(program_fd)}));
            return std::unexpected(std::move(checked.error()));
        }
        out.memory_locked_ = fdinfo->memlock;
    } else if (fdinfo.error().code().value() != ENOENT) {
        return std::unexpected(fdinfo.error());
    }
    detail::zero(out.info_);
    const auto size = sys::obj_get_info_by_fd(program_fd, bytes_of(out.info_));
    if (!size) return std::unexpected(size.error());
    out.info_size_ = *size;
    if (out.has(SOCKFILTER_INFO_END(map_ids)) && out.info_.nr_map_ids > 0) {
        // Second call with a fresh struct that holds only the array pointer and its capacity. Maps can be
        // added between the calls (never for socket filters, but keep the kernel's count honest).
        out.map_ids_.resize(out.info_.nr_map_ids);
        bpf_prog_info arrays;
        detail::zero(arrays);
        arrays.nr_map_ids = static_cast<std::uint32_t>(out.map_ids_.size());
        arrays.map_ids = reinterpret_cast<std::uintptr_t>(out.map_ids_.data());
        const auto second = sys::obj_get_info_by_fd(program_fd, bytes_of(arrays));
        if (!second) return std::unexpected(second.error());
        out.map_ids_.resize(std::min<std::size_t>(arrays.nr_map_ids, out.map_ids_.size()));
    }
    out.info_.map_ids = 0;
    out.boot_to_realtime_ = clock_now(CLOCK_REALTIME) - clock_now(CLOCK_BOOTTIME);
    return out;
}

Result<ProgramInfo> ProgramInfo::from_pin(std::string_view path) {
    const auto program = detail::open_pinned_program(path, std::nullopt);
    if (!program) return std::unexpected(program.error());
    return from_fd(*program);
}

std::array<std::uint8_t, BPF_TAG_SIZE> ProgramInfo::tag() const noexcept {
    std::array<std::uint8_t, BPF_TAG_SIZE> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = info_.tag[i];
    return out;
}

std::string ProgramInfo::tag_hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t byte : tag()) {
        out.push_back(digits[byte >> 4]);
        out.push_back(digits[byte & 0xf]);
    }
    return out;
}

std::optional<std::string_view> ProgramInfo::name() const noexcept {
    if (!has(SOCKFILTER_INFO_END(name))) return std::nullopt;
    return detail::kernel_name(info_.name, sizeof info_.name);
}

std::optional<std::chrono::system_clock::time_point> ProgramInfo::loaded_at() const noexcept {
    if (!has(SOCKFILTER_INFO_END(load_time))) return std::nullopt;
    const auto since_epoch = boot_to_realtime_ + std::chrono::nanoseconds(info_.load_time);
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

std::optional<std::uint32_t> ProgramInfo::created_by_uid() const noexcept {
    if (!has(SOCKFILTER_INFO_END(created_by_uid))) return std::nullopt;
    return info_.created_by_uid;
}

std::optional<std::uint32_t> ProgramInfo::ifindex() const noexcept {
    if (!has(SOCKFILTER_INFO_END(ifindex))) return std::nullopt;
    return info_.ifindex;
}

std::optional<bool> ProgramInfo::gpl_compatible() const noexcept {
    // The bit field shares its word with padding that ends where netns_dev starts.
    if (!has(offsetof(bpf_prog_info, netns_dev))) return std::nullopt;
    return info_.gpl_compatible != 0;
}

std::optional<std::uint32_t> ProgramInfo::btf_id() const noexcept {
    if (!has(SOCKFILTER_INFO_END(btf_id)) || info_.btf_id == 0) return std::nullopt;
    return info_.btf_id;
}

std::optional<std::uint32_t> ProgramInfo::func_info_count() const noexcept {
    if (!has(SOCKFILTER_INFO_END(nr_func_info))) return std::nullopt;
    return info_.nr_func_info;
}

std::optional<std::uint32_t> ProgramInfo::line_info_count() const noexcept {
    if (!has(SOCKFILTER_INFO_END(nr_line_info))) return std::nullopt;
    return info_.nr_line_info;
}

std::optional<std::uint32_t> ProgramInfo::jited_function_count() const noexcept {
    if (!has(SOCKFILTER_INFO_END(nr_jited_ksyms))) return std::nullopt;
    return info_.nr_jited_ksyms;
}

std::optional<std::chrono::nanoseconds> ProgramInfo::run_time() const noexcept {
    if (!has(SOCKFILTER_INFO_END(run_time_ns))) return std::nullopt;
    return std::chrono::nanoseconds(info_.run_time_ns);
}

std::optional<std::uint64_t> ProgramInfo::run_count() const noexcept {
    if (!has(SOCKFILTER_INFO_END(run_cnt))) return std::nullopt;
    return info_.run_cnt;
}

std::optional<std::uint64_t> ProgramInfo::recursion_misses() const noexcept {
    if (!has(SOCKFILTER_INFO_END(recursion_misses))) return std::nullopt;
    return info_.recursion_misses;
}

std::optional<std::uint32_t> ProgramInfo::verified_instruction_count() const noexcept {
    if (!has(SOCKFILTER_INFO_END(verified_insns))) return std::nullopt;
    return info_.verified_insns;
}

std::optional<std::uint32_t> ProgramInfo::attach_btf_object_id() const noexcept {
    if (!has(SOCKFILTER_INFO_END(attach_btf_obj_id))) return std::nullopt;
    return info_.attach_btf_obj_id;
}

std::optional<std::uint32_t> ProgramInfo::attach_btf_id() const noexcept {
    if (!has(SOCKFILTER_INFO_END(attach_btf_id))) return std::nullopt;
    return info_.attach_btf_id;
}

Result<ProgramFd> ProgramInfo::fd() const { return sys::prog_get_fd_by_id(info_.id); }

Result<std::vector<ProgramInfo>> loaded_programs() {
    return detail::walk_ids<ProgramInfo>(
        [](std::uint32_t id) { return sys::prog_get_next_id(id); },
        [](std::uint32_t id) { return sys::prog_get_fd_by_id(id); },
        [](const auto& fd) { return ProgramInfo::from_fd(fd); });
}

}  // namespace sockfilter
