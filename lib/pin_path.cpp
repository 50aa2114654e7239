// Pinning with a recorded path: the record is made only after success, so unpin never removes others' files.
#include "pin_path.hpp"

#include <cerrno>

#include "sockfilter/path.hpp"
#include "sockfilter/sys.hpp"
#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter::detail {

Result<void> pin_recorded(int fd, std::string_view path, std::string& recorded, const char* what) {
    if (!recorded.empty()) {
        return fail(ErrorKind::AlreadyExists, "BPF_OBJ_PIN", 0,
                    concat({"this ", what, " is already pinned at ", recorded, "; unpin() it first"}));
    }
    const auto buffer = sys::PathBuffer::from(path);
    if (!buffer) return std::unexpected(buffer.error());
    if (auto pinned = sys::obj_pin(fd, buffer->ref()); !pinned) {
        return std::unexpected(std::move(pinned.error()).with_detail(concat({"pinning at ", path})));
    }
    recorded.assign(path);  // only now: unpin() must never remove a file we did not create
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
