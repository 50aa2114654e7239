// Reading small kernel files through the OS choke point.
#include "small_file.hpp"

#include <string>

#include "sockfilter/owned_fd.hpp"
#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter::detail {

Result<std::size_t> read_small_file(const char* path, std::span<char> buffer, const char* operation, std::string_view what) {
    const int opened = os::open_read_only(path);
    if (opened < 0) return std::unexpected(Error::from_errno(operation, -opened, concat({"opening ", what})));
    const OwnedFd file(opened);
    std::size_t size = 0;
    while (size < buffer.size()) {
        const long got = os::read(file.get(), buffer.data() + size, buffer.size() - size);
        if (got < 0) return std::unexpected(Error::from_errno(operation, static_cast<int>(-got), concat({"reading ", what})));
        if (got == 0) break;
        size += static_cast<std::size_t>(got);
    }
    return size;
}

}  // namespace sockfilter::detail
