#include "kernel_release.hpp"

#include <array>
#include <charconv>
#include <cstring>

#include "syscall.hpp"

namespace sockfilter::detail {

namespace {
constexpr std::size_t release_size = 65;  // struct utsname's field
}  // namespace

std::string kernel_release() {
    std::array<char, release_size> release{};
    return os::kernel_release(release.data(), release.size()) == 0 ? std::string(release.data()) : std::string("unknown");
}

bool kernel_older_than(int major, int minor) noexcept {
    std::array<char, release_size> release{};
    if (os::kernel_release(release.data(), release.size()) != 0) return false;
    // "6.1.0-57-cloud-amd64": major, '.', minor; anything else is taken as not older.
    const char* const end = release.data() + ::strnlen(release.data(), release.size());
    int running_major = 0;
    int running_minor = 0;
    const auto major_read = std::from_chars(release.data(), end, running_major);
    if (major_read.ec != std::errc{} || major_read.ptr == end || *major_read.ptr != '.') return false;
    if (std::from_chars(major_read.ptr + 1, end, running_minor).ec != std::errc{}) return false;
    return running_major < major || (running_major == major && running_minor < minor);
}

}  // namespace sockfilter::detail
