// Program: construction checks, load, unload, pin, unpin, info and test runs.
#include "sockfilter/program.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "object_name.hpp"
#include "pin_path.hpp"
#include "pinned_object.hpp"
#include "program_load.hpp"
#include "sockfilter/sys.hpp"
#include "syscall.hpp"
#include "text.hpp"
#include "zero.hpp"

namespace sockfilter {

namespace {

// What BPF_PROG_TEST_RUN keeps of its one page for the socket buffer: NET_SKB_PAD headroom (64 with 64-byte
// cache lines) and the aligned struct skb_shared_info (320 bytes on x86-64, Linux 6.18). Other architectures
// and versions differ a little; the kernel has the last word.
constexpr std::size_t test_run_reserve = 384;

std::unexpected<Error> not_loaded(const char* operation) {
    return fail(ErrorKind::NotLoaded, operation, 0, "the program is not loaded: call load() or from_pin() first");
}

}  // namespace

Result<Program> Program::make(std::string_view name, std::span<const Insn> instructions, std::string_view license) {
    if (auto checked = detail::check_object_name(name, "program name"); !checked) return std::unexpected(std::move(checked.error()));
    if (instructions.size() > UINT32_MAX) {
        return fail(ErrorKind::InvalidArgument, "program instructions", 0,
                    detail::concat({"the program has ", instructions.size(),
                                    " instructions; the kernel counts them in 32 bits and loads at most 1,000,000"}));
    }
    if (instructions.empty()) {
        return fail(ErrorKind::InvalidArgument, "program instructions", 0, "the program has no instructions; it needs at least an exit");
    }
    if (license.find('\0') != std::string_view::npos) {
        return fail(ErrorKind::InvalidArgument, "program license", 0, "the license string contains a NUL byte");
    }
    Program program;
    detail::copy_name(program.name_, name);
    program.instructions_.assign(instructions.begin(), instructions.end());
    program.license_.assign(license);
    return program;
}

Result<Program> Program::open_pin(std::string_view path) {
    auto fd = detail::open_pinned_program(path, PROGRAM_TYPE);
    if (!fd) return std::unexpected(fd.error());
    Program program;
    program.fd_ = std::move(*fd);
    // Only the name is wanted: one BPF_OBJ_GET_INFO_BY_FD (open_pinned_program read fdinfo already). A kernel
    // without the command (before 4.13: EINVAL) or without names (a shorter struct) leaves the name empty;
    // any other failure is reported rather than handing out a program whose name() is wrongly empty.
    bpf_prog_info info;
    detail::zero(info);
    const auto size = sys::obj_get_info_by_fd(program.fd_.get(), std::as_writable_bytes(std::span(&info, 1)));
    if (!size && size.error().code().value() != EINVAL) {
        Error error = size.error();
        return std::unexpected(std::move(error.with_detail(detail::concat({"reading the name of the program pinned at ", path}))));
    }
    if (size && *size >= offsetof(bpf_prog_info, name) + sizeof info.name) {
        const std::string_view name = detail::kernel_name(info.name, sizeof info.name);
        detail::copy_name(program.name_, name);
    }
    return program;
}

Result<void> Program::load(const LoadOptions& options) {
    if (fd_) return fail(ErrorKind::AlreadyLoaded, "BPF_PROG_LOAD", 0, "the program is already loaded; unload() it first");
    if (instructions_.empty()) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_LOAD", 0,
                    "there are no instructions to load (a program opened from a pin is unloaded for good)");
    }
    const sys::ProgLoadRequest request{
        .program_type = PROGRAM_TYPE,
        .insns = instructions_,
        .license = license_.c_str(),
        .name = name(),
        .btf_fd = resources_.btf_fd ? resources_.btf_fd.get() : -1,
        .func_info = resources_.func_info,
        .func_info_rec_size = resources_.func_info_record_size,
        .line_info = resources_.line_info,
        .line_info_rec_size = resources_.line_info_record_size,
    };
    auto fd = detail::load_with_log_retry(request, options);
    if (!fd) return std::unexpected(fd.error());
    fd_ = std::move(*fd);
    return {};
}

Result<void> Program::unload() {
    if (!fd_) return not_loaded("unload");
    fd_ = ProgramFd();
    return {};
}

Result<int> Program::loaded_fd(const char* operation) const {
    if (!fd_) return not_loaded(operation);
    return fd_.get();
}

Result<std::reference_wrapper<const ProgramFd>> Program::fd() const {
    if (!fd_) return not_loaded("fd");
    return std::cref(fd_);
}

Result<void> Program::pin(std::string_view path) {
    if (!fd_) return not_loaded("BPF_OBJ_PIN");
    return detail::pin_recorded(fd_.get(), path, pin_path_, "program");
}

Result<void> Program::unpin() { return detail::unpin_recorded(pin_path_, "program"); }

std::optional<std::string_view> Program::pinned_path() const noexcept {
    if (pin_path_.empty()) return std::nullopt;
    return pin_path_;
}

Result<ProgramInfo> Program::info() const {
    if (!fd_) return not_loaded("BPF_OBJ_GET_INFO_BY_FD");
    return ProgramInfo::from_fd(fd_);
}

Result<TestRunResult> Program::test_run(const TestRunOptions& options) const {
    if (!fd_) return not_loaded("BPF_PROG_TEST_RUN");
    constexpr std::size_t ethernet_header = 14;
    if (options.data_in.size() < ethernet_header) {
        // The kernel says only EINVAL; the cause is known here, so name it.
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_TEST_RUN", 0,
                    detail::concat({"data_in holds ", options.data_in.size(),
                                    " bytes; a socket filter runs on an Ethernet frame of at least 14 bytes "
                                    "(the program sees what follows the 14-byte header)"}));
    }
    // The kernel copies data_in into one page that also holds the socket buffer's headroom and shared info,
    // and says only EINVAL when it does not fit. More than a page can never fit: refuse it here, with sizes.
    const auto page = static_cast<std::size_t>(detail::os::page_size());
    if (options.data_in.size() > page) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_TEST_RUN", 0,
                    detail::concat({"data_in holds ", options.data_in.size(), " bytes; the kernel takes a frame of at most one page (",
                                    page, " bytes) minus the room it keeps around the packet (",
                                    test_run_reserve, " bytes on x86-64): pass at most ", page - test_run_reserve,
                                    " bytes, cut into several runs if needed"}));
    }
    auto ran = sys::prog_test_run(fd_.get(), options);
    if (!ran && ran.error().code().value() == EINVAL && options.data_in.size() > page - test_run_reserve) {
        Error error = std::move(ran.error());
        error.with_detail(detail::concat({"data_in holds ", options.data_in.size(), " bytes, more than one page (", page,
                                          " bytes) minus the room the kernel keeps around the packet (",
                                          test_run_reserve, " bytes on x86-64): pass at most ", page - test_run_reserve,
                                          " bytes"}));
        return std::unexpected(std::move(error));
    }
    return ran;
}

}  // namespace sockfilter
