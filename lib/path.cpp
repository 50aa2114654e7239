// PathBuffer: the checks every path gets before it reaches the kernel.
#include <cstring>
#include <string>

#include "sockfilter/path.hpp"
#include "text.hpp"

namespace sockfilter::sys {

Result<PathBuffer> PathBuffer::from(std::string_view path) {
    if (path.empty()) return fail(ErrorKind::InvalidArgument, "path", 0, "the path is empty");
    if (path.find('\0') != std::string_view::npos) {
        return fail(ErrorKind::InvalidArgument, "path", 0,
                    detail::concat({"the path contains a NUL byte at offset ", path.find('\0'),
                                    "; the kernel would see only the part before it"}));
    }
    PathBuffer buffer;
    if (path.size() >= sizeof buffer.bytes_) {
        return fail(ErrorKind::InvalidArgument, "path", 0,
                    detail::concat({"the path is ", path.size(), " bytes long; the limit is ", sizeof buffer.bytes_ - 1}));
    }
    std::memcpy(buffer.bytes_, path.data(), path.size());
    buffer.bytes_[path.size()] = '\0';
    buffer.size_ = path.size();
    return buffer;
}

}  // namespace sockfilter::sys
