// Reading small kernel files through the OS choke point.
#include "small_file.hpp"

#include <string>

#include "sockfilter/owned_fd.hpp"
#include "sockfilter/path.hpp"
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

Result<std::vector<std::byte>> read_whole_file(std::string_view path, const char* operation) {
    auto copy = sys::PathBuffer::from(path);
    if (!copy) return std::unexpected(std::move(copy.error()));
    const int opened = os::open_read_only(copy->ref().c_str());
    if (opened < 0) return std::unexpected(Error::from_errno(operation, -opened, concat({"opening ", path})));
    const OwnedFd file(opened);
    std::vector<std::byte> bytes(std::size_t{64} * 1024);
    std::size_t size = 0;
    for (;;) {
        if (size == bytes.size()) bytes.resize(bytes.size() * 2);
        const long got = os::read(file.get(), bytes.data() + size, bytes.size() - size);
        if (got < 0) return std::unexpected(Error::from_errno(operation, static_cast<int>(-got), concat({"reading ", path})));
        if (got == 0) break;
        size += static_cast<std::size_t>(got);
    }
    bytes.resize(size);
    return bytes;
}

}  // namespace sockfilter::detail
