// sys::: the bpf(2) commands, each filling a zeroed union bpf_attr up to the last field it uses.
#include "sockfilter/sys.hpp"

#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "kernel_release.hpp"
#include "object_name.hpp"
#include "sys_common.hpp"
#include "syscall.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter::detail {

Result<void> void_or_errno(long ret, const char* operation) {
    if (ret < 0) return std::unexpected(Error::from_errno(operation, static_cast<int>(-ret)));
    return {};
}

Result<std::uint32_t> next_id(int command, std::uint32_t start_id, const char* operation) {
    bpf_attr attr;
    zero(attr);
    attr.start_id = start_id;
    const long ret = os::bpf(command, &attr, SOCKFILTER_ATTR_END(next_id));
    if (ret < 0) return std::unexpected(Error::from_errno(operation, static_cast<int>(-ret)));
    return attr.next_id;
}

Result<OwnedFd> adopt_fd(long ret, const char* operation) {
    if (ret < 0) return std::unexpected(Error::from_errno(operation, static_cast<int>(-ret)));
    OwnedFd fd(static_cast<int>(ret));
    if (fd.get() >= 3) return fd;
    const int moved = os::dup_cloexec(fd.get(), 3);
    if (moved < 0) {
        return std::unexpected(Error::from_errno("F_DUPFD_CLOEXEC", -moved,
                                                 concat({"moving the fd from ", operation, " above 2"})));
    }
    return OwnedFd(moved);
}

}  // namespace sockfilter::detail

namespace sockfilter::sys {

namespace {

// The BPF_PROG_LOAD part of union bpf_attr as Linux 6.4+ defines it: the installed UAPI headers may predate
// log_true_size, which the kernel writes back after a load with a log.
struct ProgLoadAttr {
    std::uint32_t prog_type;
    std::uint32_t insn_cnt;
    std::uint64_t insns;
    std::uint64_t license;
    std::uint32_t log_level;
    std::uint32_t log_size;
    std::uint64_t log_buf;
    std::uint32_t kern_version;
    std::uint32_t prog_flags;
    char prog_name[BPF_OBJ_NAME_LEN];
    std::uint32_t prog_ifindex;
    std::uint32_t expected_attach_type;
    std::uint32_t prog_btf_fd;
    std::uint32_t func_info_rec_size;
    std::uint64_t func_info;
    std::uint32_t func_info_cnt;
    std::uint32_t line_info_rec_size;
    std::uint64_t line_info;
    std::uint32_t line_info_cnt;
    std::uint32_t unused_attach_and_relocations[8];  // attach_btf_id … core_relo_rec_size: zero for us
    std::uint32_t log_true_size;
};
static_assert(offsetof(ProgLoadAttr, prog_name) == offsetof(bpf_attr, prog_name));
static_assert(offsetof(ProgLoadAttr, expected_attach_type) == offsetof(bpf_attr, expected_attach_type));
static_assert(offsetof(ProgLoadAttr, func_info) == offsetof(bpf_attr, func_info));
static_assert(offsetof(ProgLoadAttr, line_info_cnt) == offsetof(bpf_attr, line_info_cnt));
static_assert(offsetof(ProgLoadAttr, log_true_size) == offsetof(bpf_attr, core_relo_rec_size) + 4);

constexpr int max_eagain_retries = 5;
constexpr std::uint32_t checksum_complete_flag = 1u << 2;  // BPF_F_TEST_SKB_CHECKSUM_COMPLETE (6.11; older headers lack it)

}  // namespace

Result<ProgramFd> prog_load(const ProgLoadRequest& request) {
    if (request.name.size() >= BPF_OBJ_NAME_LEN) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_LOAD", 0,
                    detail::concat({"the program name \"", request.name, "\" is longer than 15 bytes"}));
    }
    if (request.log.size() > UINT32_MAX || request.insns.size() > UINT32_MAX || request.func_info.size() > UINT32_MAX ||
        request.line_info.size() > UINT32_MAX) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_LOAD", 0, "the log buffer, program or BTF info exceeds 4 GiB");
    }
    if ((request.func_info_rec_size != 0 && request.func_info.size() % request.func_info_rec_size != 0) ||
        (request.line_info_rec_size != 0 && request.line_info.size() % request.line_info_rec_size != 0)) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_LOAD", 0, "func_info or line_info is not a whole number of records");
    }
    ProgLoadAttr attr;
    detail::zero(attr);
    attr.prog_type = request.program_type;
    attr.insn_cnt = static_cast<std::uint32_t>(request.insns.size());
    attr.insns = detail::pointer_bits(request.insns.data());
    attr.license = detail::pointer_bits(request.license);
    attr.prog_flags = request.flags;
    attr.expected_attach_type = request.expected_attach_type;
    detail::copy_name(attr.prog_name, request.name);
    unsigned size = offsetof(ProgLoadAttr, expected_attach_type) + sizeof attr.expected_attach_type;
    if (request.btf_fd >= 0) {
        attr.prog_btf_fd = static_cast<std::uint32_t>(request.btf_fd);
        attr.func_info_rec_size = request.func_info_rec_size;
        attr.func_info = detail::pointer_bits(request.func_info.data());
        attr.func_info_cnt = request.func_info_rec_size == 0 ? 0 : static_cast<std::uint32_t>(request.func_info.size() / request.func_info_rec_size);
        attr.line_info_rec_size = request.line_info_rec_size;
        attr.line_info = detail::pointer_bits(request.line_info.data());
        attr.line_info_cnt = request.line_info_rec_size == 0 ? 0 : static_cast<std::uint32_t>(request.line_info.size() / request.line_info_rec_size);
        size = offsetof(ProgLoadAttr, line_info_cnt) + sizeof attr.line_info_cnt;
    }
    if (!request.log.empty()) {
        attr.log_level = request.log_level;
        attr.log_size = static_cast<std::uint32_t>(request.log.size());
        attr.log_buf = detail::pointer_bits(request.log.data());
        request.log[0] = '\0';
        size = offsetof(ProgLoadAttr, log_true_size) + sizeof attr.log_true_size;
    }
    long ret = 0;
    for (int attempt = 0; attempt <= max_eagain_retries; ++attempt) {
        ret = detail::os::bpf(BPF_PROG_LOAD, &attr, size);
        if (ret != -EAGAIN) break;
    }
    if (ret == -ENOSPC && attr.log_true_size != 0) {
        return std::unexpected(Error::from_errno("BPF_PROG_LOAD", ENOSPC).with_sizes({.data = {}, .ctx = {}, .log = attr.log_true_size}));
    }
    return Result<ProgramFd>(detail::adopt_fd(ret, "BPF_PROG_LOAD"));
}

Result<void> obj_pin(int fd, PathRef path) {
    bpf_attr attr;
    detail::zero(attr);
    attr.pathname = detail::pointer_bits(path.c_str());
    attr.bpf_fd = static_cast<std::uint32_t>(fd);
    return detail::void_or_errno(detail::os::bpf(BPF_OBJ_PIN, &attr, SOCKFILTER_ATTR_END(bpf_fd)), "BPF_OBJ_PIN");
}

Result<OwnedFd> obj_get(PathRef path, std::uint32_t file_flags) {
    bpf_attr attr;
    detail::zero(attr);
    attr.pathname = detail::pointer_bits(path.c_str());
    attr.file_flags = file_flags;
    return detail::adopt_fd(detail::os::bpf(BPF_OBJ_GET, &attr, SOCKFILTER_ATTR_END(file_flags)), "BPF_OBJ_GET");
}

Result<std::uint32_t> obj_get_info_by_fd(int fd, std::span<std::byte> info) {
    if (info.size() > UINT32_MAX) return fail(ErrorKind::InvalidArgument, "BPF_OBJ_GET_INFO_BY_FD", 0, "info buffer exceeds 4 GiB");
    bpf_attr attr;
    detail::zero(attr);
    attr.info.bpf_fd = static_cast<std::uint32_t>(fd);
    attr.info.info_len = static_cast<std::uint32_t>(info.size());
    attr.info.info = detail::pointer_bits(info.data());
    const long ret = detail::os::bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, SOCKFILTER_ATTR_END(info));
    if (ret < 0) return std::unexpected(Error::from_errno("BPF_OBJ_GET_INFO_BY_FD", static_cast<int>(-ret)));
    return attr.info.info_len;
}

Result<TestRunResult> prog_test_run(int program_fd, const TestRunOptions& options) {
    if (options.data_in.size() > UINT32_MAX || options.data_out.size() > UINT32_MAX ||
        options.ctx_in.size() > UINT32_MAX || options.ctx_out.size() > UINT32_MAX) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_TEST_RUN", 0, "a buffer exceeds 4 GiB");
    }
    // Empty spans go as NULL: a non-NULL data_out with size 0 would be written without bound.
    bpf_attr attr;
    detail::zero(attr);
    attr.test.prog_fd = static_cast<std::uint32_t>(program_fd);
    attr.test.data_in = detail::bits_or_null(options.data_in);
    attr.test.data_size_in = static_cast<std::uint32_t>(options.data_in.size());
    attr.test.data_out = detail::bits_or_null(options.data_out);
    attr.test.data_size_out = static_cast<std::uint32_t>(options.data_out.size());
    attr.test.ctx_in = detail::bits_or_null(options.ctx_in);
    attr.test.ctx_size_in = static_cast<std::uint32_t>(options.ctx_in.size());
    attr.test.ctx_out = detail::bits_or_null(options.ctx_out);
    attr.test.ctx_size_out = static_cast<std::uint32_t>(options.ctx_out.size());
    attr.test.repeat = options.repeat;
    attr.test.flags = options.flags;
    const long ret = detail::os::bpf(BPF_PROG_TEST_RUN, &attr, SOCKFILTER_ATTR_END(test.flags));
    if (ret == -ENOSPC) {
        SizesNeeded needed;
        if (!options.data_out.empty() && attr.test.data_size_out > options.data_out.size()) needed.data = attr.test.data_size_out;
        if (!options.ctx_out.empty() && attr.test.ctx_size_out > options.ctx_out.size()) needed.ctx = attr.test.ctx_size_out;
        return std::unexpected(Error::from_errno("BPF_PROG_TEST_RUN", ENOSPC).with_sizes(needed));
    }
    if (ret == -EINVAL && (options.flags & checksum_complete_flag) != 0 && detail::kernel_older_than(6, 11)) {
        return fail(ErrorKind::NotSupported, "BPF_PROG_TEST_RUN", EINVAL,
                    detail::concat({"BPF_F_TEST_SKB_CHECKSUM_COMPLETE needs Linux 6.11; this kernel is ",
                                    detail::kernel_release()}));
    }
    if (ret < 0) return std::unexpected(Error::from_errno("BPF_PROG_TEST_RUN", static_cast<int>(-ret)));
    return TestRunResult{
        .return_value = attr.test.retval,
        .duration = std::chrono::nanoseconds(attr.test.duration),
        .data_size_out = attr.test.data_size_out,
        .ctx_size_out = attr.test.ctx_size_out,
    };
}

Result<std::uint32_t> prog_get_next_id(std::uint32_t start_id) {
    return detail::next_id(BPF_PROG_GET_NEXT_ID, start_id, "BPF_PROG_GET_NEXT_ID");
}

Result<ProgramFd> prog_get_fd_by_id(std::uint32_t id) {
    bpf_attr attr;
    detail::zero(attr);
    attr.prog_id = id;
    return Result<ProgramFd>(
        detail::adopt_fd(detail::os::bpf(BPF_PROG_GET_FD_BY_ID, &attr, SOCKFILTER_ATTR_END(open_flags)), "BPF_PROG_GET_FD_BY_ID"));
}

Result<OwnedFd> enable_stats(std::uint32_t type) {
    bpf_attr attr;
    detail::zero(attr);
    attr.enable_stats.type = type;
    return detail::adopt_fd(detail::os::bpf(BPF_ENABLE_STATS, &attr, SOCKFILTER_ATTR_END(enable_stats.type)), "BPF_ENABLE_STATS");
}

}  // namespace sockfilter::sys
