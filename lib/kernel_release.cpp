#include "kernel_release.hpp"

#include <array>
#include <cstdio>

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
    int running_major = 0;
    int running_minor = 0;
    if (os::kernel_release(release.data(), release.size()) != 0 ||
        std::sscanf(release.data(), "%d.%d", &running_major, &running_minor) != 2) {
        return false;
    }
    return running_major < major || (running_major == major && running_minor < minor);
}

}  // namespace sockfilter::detail
