// Checking that an fd is a program (of the wanted type), and opening pinned programs with that check.
#include "pinned_program.hpp"

#include <string>

#include "fdinfo.hpp"
#include "sockfilter/path.hpp"
#include "sockfilter/sys.hpp"
#include "text.hpp"

namespace sockfilter::detail {

Result<void> require_program(const FdInfo& kind, std::optional<std::uint32_t> wanted_type, const char* operation,
                             std::string_view where) {
    if (kind.map_type) {
        return fail(ErrorKind::UnexpectedProgramType, operation, 0,
                    concat({"a map (type ", std::uint64_t{*kind.map_type}, ")", where, ", not a program"}));
    }
    if (kind.link) return fail(ErrorKind::UnexpectedProgramType, operation, 0, concat({"a BPF link", where, ", not a program"}));
    if (!kind.prog_type) return fail(ErrorKind::UnexpectedProgramType, operation, 0, concat({"an unknown BPF object", where}));
    if (wanted_type && *kind.prog_type != *wanted_type) {
        return fail(ErrorKind::UnexpectedProgramType, operation, 0,
                    concat({"a program of type ", std::uint64_t{*kind.prog_type}, where, ", expected type ",
                            std::uint64_t{*wanted_type}, " (BPF_PROG_TYPE_SOCKET_FILTER is 1)"}));
    }
    return {};
}

Result<ProgramFd> open_pinned_program(std::string_view path, std::optional<std::uint32_t> wanted_type) {
    const auto buffer = sys::PathBuffer::from(path);
    if (!buffer) return std::unexpected(buffer.error());
    auto object = sys::obj_get(buffer->ref());
    if (!object) return std::unexpected(std::move(object.error()).with_detail(detail::concat({"opening pin ", path})));
    const auto kind = read_fdinfo(object->get());
    if (!kind) {
        return fail(ErrorKind::NotSupported, "BPF_OBJ_GET", 0,
                    concat({"cannot tell what is pinned at ", path, ": /proc/self/fdinfo is unreadable (mount /proc)"}));
    }
    if (auto checked = require_program(*kind, wanted_type, "BPF_OBJ_GET", concat({" is pinned at ", path})); !checked) {
        return std::unexpected(std::move(checked.error()));
    }
    return ProgramFd(std::move(*object));
}

}  // namespace sockfilter::detail
