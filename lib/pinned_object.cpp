// Checking that an fd is a program or a map (of the wanted type), and opening pins with that check.
#include "pinned_object.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "fdinfo.hpp"
#include "sockfilter/owned_fd.hpp"
#include "sockfilter/path.hpp"
#include "sockfilter/sys.hpp"
#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

enum class Kind : std::uint8_t { Program, Map };

// What the fdinfo says the object is, for "<what> is pinned at …".
std::string describe(const FdInfo& kind) {
    if (kind.map_type) return concat({"a map (type ", std::uint64_t{*kind.map_type}, ")"});
    if (kind.link) return "a BPF link";
    if (kind.prog_type) return concat({"a program (type ", std::uint64_t{*kind.prog_type}, ")"});
    return "an unknown BPF object";
}

Result<void> require(Kind wanted, const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                     std::string_view where) {
    const bool program = wanted == Kind::Program;
    const ErrorKind error = program ? ErrorKind::UnexpectedProgramType : ErrorKind::UnexpectedMapType;
    const std::optional<std::uint32_t> found = program ? kind.prog_type : kind.map_type;
    if (!kind.map_type && !kind.link && !kind.prog_type) return fail(error, operation, 0, concat({"an unknown BPF object", where}));
    if (!found || kind.link) {
        return fail(error, operation, 0, concat({describe(kind), where, program ? ", not a program" : ", not a map"}));
    }
    if (wanted_type && *found != *wanted_type) {
        return fail(error, operation, 0,
                    concat({program ? "a program of type " : "a map of type ", std::uint64_t{*found}, where,
                            ", expected type ", std::uint64_t{*wanted_type},
                            program ? " (BPF_PROG_TYPE_SOCKET_FILTER is 1)" : " (see enum bpf_map_type)"}));
    }
    return {};
}

// BPF_OBJ_GET on `path` and the kind check; the fd is closed when the check fails.
Result<OwnedFd> open_pinned(Kind wanted, std::string_view path, std::optional<std::uint32_t> wanted_type) {
    const auto buffer = sys::PathBuffer::from(path);
    if (!buffer) return std::unexpected(buffer.error());
    auto object = sys::obj_get(buffer->ref());
    if (!object) {
        // The kernel says EACCES for a directory as for an unreadable pin: tell them apart.
        const bool directory = object.error().code().value() == EACCES && os::file_type(buffer->ref().c_str()) == S_IFDIR;
        return std::unexpected(std::move(object.error())
                                   .with_detail(concat({"opening pin ", path,
                                                        directory ? ": it is a directory, not a pinned object" : ""})));
    }
    auto kind = read_fdinfo(object->get());
    if (!kind && kind.error().code().value() == ENOENT) {
        return fail(ErrorKind::NotSupported, "BPF_OBJ_GET", 0,
                    concat({"cannot tell what is pinned at ", path, ": /proc/self/fdinfo is unreadable (mount /proc)"}));
    }
    if (!kind) {  // /proc is there, the read failed (EMFILE, ENOMEM, EINTR, …): say so, with its errno
        return std::unexpected(std::move(kind.error()).with_detail(concat({"reading /proc/self/fdinfo to tell what is pinned at ", path})));
    }
    if (auto checked = require(wanted, *kind, wanted_type, "BPF_OBJ_GET", concat({" is pinned at ", path})); !checked) {
        return std::unexpected(std::move(checked.error()));
    }
    return std::move(*object);
}

}  // namespace

Result<void> require_program(const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                             std::string_view where) {
    return require(Kind::Program, kind, wanted_type, operation, where);
}

Result<void> require_map(const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                         std::string_view where) {
    return require(Kind::Map, kind, wanted_type, operation, where);
}

Result<ProgramFd> open_pinned_program(std::string_view path, std::optional<std::uint32_t> wanted_type) {
    return Result<ProgramFd>(open_pinned(Kind::Program, path, wanted_type));
}

Result<MapFd> open_pinned_map(std::string_view path) {
    return Result<MapFd>(open_pinned(Kind::Map, path, std::nullopt));
}

}  // namespace sockfilter::detail
