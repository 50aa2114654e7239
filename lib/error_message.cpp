// Error::message(): the readable paragraph, with hints at the usual cause of each (operation, errno).
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "errno_names.hpp"
#include "sockfilter/error.hpp"
#include "text.hpp"

namespace sockfilter {

namespace detail {

std::string_view errno_name(int errno_value) noexcept {
    switch (errno_value) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case EBADFD: return "EBADFD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOSPC: return "ENOSPC";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case kernel_enotsupp: return "ENOTSUPP";
    default: return {};
    }
}

}  // namespace detail

namespace {

bool is(std::string_view operation, std::string_view name) { return operation == name; }

// Errnos the kernel's path lookup gives for any path (BPF_OBJ_PIN, BPF_OBJ_GET); empty for others.
std::string_view path_hint(int e) {
    switch (e) {
    case ENAMETOOLONG:
        return "a component of the path is longer than 255 bytes (NAME_MAX), or the whole path longer than 4095 "
               "(PATH_MAX): use shorter names.";
    case ENOTDIR: return "a component of the path's directory part is not a directory (a pin or an ordinary file).";
    case ELOOP: return "the path runs through a loop of symbolic links (or too many of them).";
    default: return {};
    }
}

// The usual cause of an errno from an operation, and what to do; empty when we know nothing useful.
std::string_view hint_for(std::string_view op, int e, bool has_log) {
    if (e == ENOSYS) return "the kernel was built without the bpf(2) syscall (CONFIG_BPF_SYSCALL).";
    if (e == EMFILE || e == ENFILE) return "the process or system ran out of file descriptors; close some or raise RLIMIT_NOFILE.";
    if (is(op, "BPF_PROG_LOAD")) {
        switch (e) {
        case EPERM:
            return "loading needs CAP_BPF (Linux 5.8+) or CAP_SYS_ADMIN; without them the kernel allows socket "
                   "filters only when kernel.unprivileged_bpf_disabled is 0 (the default is 2). Before Linux 5.11 a "
                   "low RLIMIT_MEMLOCK also gives EPERM: call raise_memlock_limit() first.";
        case EACCES:
        case EINVAL:
            if (has_log) return "the verifier refused the program; the log below names the failing instruction.";
            return "the kernel refused the load request: check the program name (at most 15 of [A-Za-z0-9_.]), "
                   "the license and the flags.";
        case E2BIG:
            return "the program has too many instructions (at most 1,000,000, or 4,096 without CAP_BPF) or the "
                   "verifier gave up after processing 1,000,000 instructions: simplify the program.";
        case ENOSPC: return "the verifier log did not fit the buffer: pass a bigger LoadOptions::log_buffer.";
        case EAGAIN: return "the verifier was interrupted by signals several times in a row; try again.";
        default: return {};
        }
    }
    if (is(op, "BPF_OBJ_PIN")) {
        switch (e) {
        case EPERM:
            return "the parent directory is not on a BPF filesystem (mount one with `mount -t bpf bpf DIR`), or "
                   "the file name contains a '.'.";
        case EEXIST:
            return "something already exists at this path (a pin, a directory, or a symbolic link, which is not "
                   "followed): choose another path or remove the old pin.";
        case ENOENT: return "the parent directory does not exist: create it on the bpffs first.";
        case EACCES:
            return "no write permission on the parent directory (a bpffs directory is usually root's, mode 0700 "
                   "or 0755).";
        default: return path_hint(e);
        }
    }
    if (is(op, "BPF_OBJ_GET")) {
        switch (e) {
        case ENOENT: return "nothing is pinned at this path.";
        case EACCES:
            return "the path is not a pinned BPF object (it must be a pin on a bpffs, not a directory or an ordinary "
                   "file), or this user may not read it (pins are created with mode 0600).";
        case EPERM: return "the path is not on a BPF filesystem, or the caller lacks permission.";
        case EINVAL: return "BPF_F_RDONLY and BPF_F_WRONLY cannot be combined, and other flags are unknown.";
        default: return path_hint(e);
        }
    }
    if (is(op, "getcwd") && e == ENOENT) return "the working directory was removed: pass an absolute path.";
    if (is(op, "BPF_BTF_LOAD") && e == EPERM) {
        return "loading BTF needs CAP_BPF (Linux 5.8+) or CAP_SYS_ADMIN, whatever kernel.unprivileged_bpf_disabled says.";
    }
    if (is(op, "SO_ATTACH_BPF")) {
        switch (e) {
        case EPERM: return "the socket's filter is locked (SO_LOCK_FILTER): it can no longer be replaced.";
        case EINVAL: return "the fd is not a loaded socket filter program.";
        case EBADF: return "the socket fd or the program fd is not open.";
        case ENOTSOCK: return "the fd is not a socket.";
        case ENOMEM: return "the socket's option memory is exhausted (net.core.optmem_max).";
        default: return {};
        }
    }
    if (is(op, "SO_DETACH_BPF")) {
        switch (e) {
        case ENOENT: return "no filter is attached to this socket.";
        case EPERM: return "the socket's filter is locked (SO_LOCK_FILTER): it cannot be detached.";
        case EBADF: return "the socket fd is not open.";
        case ENOTSOCK: return "the fd is not a socket.";
        default: return {};
        }
    }
    if (is(op, "SO_ATTACH_REUSEPORT_EBPF")) {
        switch (e) {
        case EINVAL:
            return "the socket is not in an SO_REUSEPORT group (set SO_REUSEPORT, then bind, before attaching), or "
                   "the fd is not a loaded socket filter program.";
        case EBADF: return "the socket fd or the program fd is not open.";
        case ENOTSOCK: return "the fd is not a socket.";
        default: return {};
        }
    }
    if (is(op, "SO_DETACH_REUSEPORT_BPF")) {
        switch (e) {
        case ENOENT: return "no program is attached to this socket's SO_REUSEPORT group.";
        case EINVAL: return "the socket is not in an SO_REUSEPORT group.";
        case ENOPROTOOPT: return "the kernel predates SO_DETACH_REUSEPORT_BPF (Linux 5.3).";
        default: return {};
        }
    }
    if (is(op, "BPF_PROG_TEST_RUN")) {
        switch (e) {
        case EINVAL:
            return "data_in must be an Ethernet frame of at least 14 bytes and at most about a page; flags may "
                   "only hold BPF_F_TEST_SKB_CHECKSUM_COMPLETE; in ctx_in only mark, priority, ifindex, cb, tstamp, "
                   "wire_len, gso_segs, gso_size and hwtstamp may be set.";
        case ENOSPC: return "data_out or ctx_out is too small: sizes_needed() tells what the kernel needed.";
        case EINTR: return "a signal interrupted the run; run it again.";
        case detail::kernel_enotsupp: return "the kernel has no test runner for this program type.";
        default: return {};
        }
    }
    if (is(op, "BPF_PROG_GET_NEXT_ID") || is(op, "BPF_PROG_GET_FD_BY_ID")) {
        if (e == EPERM) return "walking programs by id needs CAP_SYS_ADMIN.";
        if (e == ENOENT) return "no program has this id (it may have been unloaded meanwhile).";
        return {};
    }
    if (is(op, "BPF_ENABLE_STATS")) {
        if (e == EPERM) return "enabling statistics needs CAP_SYS_ADMIN.";
        if (e == EINVAL) return "the kernel does not know this statistics type (BPF_STATS_RUN_TIME needs Linux 5.8).";
        return {};
    }
    if (is(op, "BPF_MAP_CREATE")) {
        switch (e) {
        case EPERM:
            return "creating maps needs CAP_BPF (Linux 5.8+) or CAP_SYS_ADMIN; without them the kernel allows "
                   "arrays, hashes and ring buffers only when kernel.unprivileged_bpf_disabled is 0 (the default "
                   "is 2), and socket maps need CAP_NET_ADMIN too. Before Linux 5.11 a low RLIMIT_MEMLOCK also "
                   "gives EPERM: call raise_memlock_limit() first.";
        case EINVAL:
            return "the kernel refused the map's shape: check the key and value sizes this type allows (arrays "
                   "need 4-byte keys; no size may be 0), max_entries (not 0), the flags and the name (at most "
                   "15 of [A-Za-z0-9_.]).";
        case E2BIG: return "the key or value is larger than this map type allows.";
        case ENOMEM: return "the kernel could not allocate the map: lower max_entries or the value size.";
        default: return {};
        }
    }
    if (is(op, "BPF_MAP_LOOKUP_ELEM")) {
        if (e == ENOENT) return "the map holds no such key.";
        if (e == EPERM) return "the map fd was opened write-only.";
        return {};
    }
    if (is(op, "BPF_MAP_UPDATE_ELEM")) {
        switch (e) {
        case EEXIST: return "BPF_NOEXIST was given and the key exists (array elements always exist: use BPF_ANY).";
        case ENOENT: return "BPF_EXIST was given and the map holds no such key.";
        case E2BIG: return "the map is full (max_entries reached), or the array index is out of range.";
        case EPERM: return "the map is frozen (BPF_MAP_FREEZE) or was opened read-only.";
        case EINVAL: return "the flags are not one of BPF_ANY, BPF_NOEXIST, BPF_EXIST (optionally with BPF_F_LOCK).";
        default: return {};
        }
    }
    if (is(op, "BPF_MAP_DELETE_ELEM")) {
        switch (e) {
        case ENOENT: return "the map holds no such key.";
        case EINVAL: return "elements of array maps cannot be deleted; overwrite them instead.";
        case EPERM: return "the map is frozen (BPF_MAP_FREEZE) or was opened read-only.";
        default: return {};
        }
    }
    if (is(op, "BPF_MAP_GET_NEXT_KEY")) {
        if (e == ENOENT) return "there is no key after this one: the iteration is over.";
        return {};
    }
    if (is(op, "BPF_MAP_FREEZE")) {
        switch (e) {
        case EBUSY:
            return "the map is already frozen (Linux 6.1 answers a second freeze with EBUSY, 6.18 with EPERM), "
                   "or a writable mmap of the map exists.";
        case EPERM:
            return "the map is already frozen or was opened read-only, or the caller lacks CAP_BPF (Linux 5.8+) "
                   "and CAP_SYS_ADMIN.";
        case EINVAL: return "the kernel predates BPF_MAP_FREEZE (Linux 5.2).";
        case detail::kernel_enotsupp: return "maps of this type (or with these special fields) cannot be frozen.";
        default: return {};
        }
    }
    if (is(op, "BPF_MAP_GET_NEXT_ID") || is(op, "BPF_MAP_GET_FD_BY_ID")) {
        if (e == EPERM) return "walking maps by id needs CAP_SYS_ADMIN.";
        if (e == ENOENT) return "no map has this id (it may have been freed meanwhile).";
        return {};
    }
    if (is(op, "BPF_OBJ_GET_INFO_BY_FD")) {
        if (e == EBADF) return "the fd is not open.";
        if (e == EINVAL) return "the fd is not a BPF object.";
        return {};
    }
    if (is(op, "RLIMIT_MEMLOCK")) {
        if (e == EPERM) return "raising the hard limit needs CAP_SYS_RESOURCE.";
        return {};
    }
    return {};
}

// Appends text, replacing bytes that are not printable ASCII (besides newline and tab) with '?'.
void append_printable(std::string& out, std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back((byte >= 0x20 && byte < 0x7f) || c == '\n' || c == '\t' ? c : '?');
    }
}

// The last `max_lines` lines of a log, without its trailing newlines.
std::string_view log_tail(std::string_view log, std::size_t max_lines) {
    while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) log.remove_suffix(1);
    std::size_t pos = log.size();
    for (std::size_t lines = 0; pos > 0; --pos) {
        if (log[pos - 1] == '\n' && ++lines == max_lines) break;
    }
    return log.substr(pos);
}

}  // namespace

std::string Error::message() const {
    std::string out(operation_);
    if (errno_ != 0) {
        out += " failed: ";
        out += errno_ == detail::kernel_enotsupp ? std::string("operation not supported") : code().message();
        const auto name = detail::errno_name(errno_);
        out += " (";
        out += name.empty() ? detail::concat({"errno ", static_cast<std::uint64_t>(errno_)}) : std::string(name);
        out += ')';
    } else {
        out += " failed";
    }
    if (!detail_.empty()) {
        out += ": ";
        append_printable(out, detail_);
    }
    if (out.back() != '.') out += '.';  // a detail may end a sentence of its own (a nested message)
    if (const auto hint = hint_for(operation_, errno_, !log_.empty()); !hint.empty() && errno_ != 0) {
        out += " Hint: ";
        out += hint;
    }
    if (sizes_.data || sizes_.ctx || sizes_.log) {
        out += " Needed:";
        if (sizes_.data) out += detail::concat({" data_out ", *sizes_.data, " bytes"});
        if (sizes_.ctx) out += detail::concat({" ctx_out ", *sizes_.ctx, " bytes"});
        if (sizes_.log) out += detail::concat({" log ", *sizes_.log, " bytes"});
        out += '.';
    }
    if (!log_.empty()) {
        out += log_truncated_ ? "\nVerifier log (truncated; last lines):\n" : "\nVerifier log (last lines):\n";
        append_printable(out, log_tail(log_, 12));
    }
    return out;
}

}  // namespace sockfilter
