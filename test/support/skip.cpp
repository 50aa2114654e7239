// Skip bookkeeping and the privilege and kernel-version checks.
#include "skip.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel_release.hpp"

namespace sockfilter_test {

namespace {
std::string& reason_storage() {
    static std::string reason;
    return reason;
}

std::string version_of(const KernelFeature& feature) {
    return std::to_string(feature.major) + "." + std::to_string(feature.minor);
}

}  // namespace

bool has_capability(unsigned capability) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    return (data[capability / 32].effective & (1u << (capability % 32))) != 0;
}

void record_skip(const std::string& reason) { reason_storage() = reason; }
const std::string& skip_reason() { return reason_storage(); }

std::string missing_privileges() {
    if (has_capability(CAP_SYS_ADMIN) && has_capability(CAP_NET_ADMIN)) return {};
    return "needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to load programs, mount bpffs and create namespaces";
}

std::string kernel_lacks(const KernelFeature& feature) {
    if (!sockfilter::detail::kernel_older_than(feature.major, feature.minor)) return {};
    return std::string(feature.name) + " needs Linux " + version_of(feature) + ", this is " +
           sockfilter::detail::kernel_release();
}

std::string kernel_has(const KernelFeature& feature) {
    if (sockfilter::detail::kernel_older_than(feature.major, feature.minor)) return {};
    return "checks the behaviour before " + std::string(feature.name) + " (Linux " + version_of(feature) +
           "); this is " + sockfilter::detail::kernel_release();
}

}  // namespace sockfilter_test
