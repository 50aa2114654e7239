// Pinning with a recorded path: the record is made only after success, so unpin never removes others' files.
#include "pin_path.hpp"

#include <cerrno>

#include "sockfilter/path.hpp"
#include "sockfilter/sys.hpp"
#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

// `path` resolved against the working directory when it is relative, as the kernel would resolve it now.
// The pin is made at, and recorded as, this absolute path: after a chdir, unpin() must still remove our
// pin and not whatever the relative path names from the new directory.
Result<std::string> absolute_path(std::string_view path) {
    if (path.starts_with('/')) return std::string(path);
    char directory[4096];
    const long length = os::current_directory(directory, sizeof directory);
    if (length < 0) {
        return std::unexpected(Error::from_errno(
            "getcwd", static_cast<int>(-length),
            concat({"resolving the relative pin path ", path, " against the working directory"})));
    }
    std::string out(directory, static_cast<std::size_t>(length));
    if (!out.ends_with('/')) out.push_back('/');
    while (path.starts_with("./")) {  // "./name" is "name": record the plain path ("..", a link, is kept)
        path.remove_prefix(2);
        while (path.starts_with('/')) path.remove_prefix(1);
    }
    out.append(path);
    return out;
}

}  // namespace

Result<void> pin_recorded(int fd, std::string_view path, std::string& recorded, const char* what) {
    if (!recorded.empty()) {
        return fail(ErrorKind::AlreadyExists, "BPF_OBJ_PIN", 0,
                    concat({"this ", what, " is already pinned at ", recorded, "; unpin() it first"}));
    }
    if (const auto checked = sys::PathBuffer::from(path); !checked) return std::unexpected(checked.error());
    auto absolute = absolute_path(path);
    if (!absolute) return std::unexpected(std::move(absolute.error()));
    const auto buffer = sys::PathBuffer::from(*absolute);
    if (!buffer) {
        Error error = buffer.error();
        return std::unexpected(std::move(error.with_detail(concat({"the relative path ", path, " resolves to ", *absolute,
                                                                    ", ", absolute->size(), " bytes; the limit is 4095"}))));
    }
    if (auto pinned = sys::obj_pin(fd, buffer->ref()); !pinned) {
        return std::unexpected(std::move(pinned.error()).with_detail(concat({"pinning at ", *absolute})));
    }
    recorded = std::move(*absolute);  // only now: unpin() must never remove a file we did not create
    return {};
}

Result<void> unpin_recorded(std::string& recorded, const char* what) {
    if (recorded.empty()) return fail(ErrorKind::NotFound, "unpin", 0, concat({"this ", what, " holds no pin of its own"}));
    const int ret = os::unlink(recorded.c_str());
    if (ret < 0 && ret != -ENOENT) return std::unexpected(Error::from_errno("unpin", -ret, concat({"removing ", recorded})));
    recorded.clear();  // already gone (removed by someone else) counts as unpinned
    return {};
}

}  // namespace sockfilter::detail
