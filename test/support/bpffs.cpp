// Temporary bpffs mounts and plain temporary directories.
#include "bpffs.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "netns.hpp"

namespace sockfilter_test {

namespace {
std::string make_temp_dir(const char* prefix) {
    std::string pattern = std::string("/tmp/") + prefix + "XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}
}  // namespace

TempBpffs::TempBpffs() : path_(make_temp_dir("sockfilter-bpffs-")) {
    if (mount("bpf", path_.c_str(), "bpf", 0, nullptr) != 0) {
        const int error = errno;
        rmdir(path_.c_str());
        throw std::runtime_error(std::string("mount -t bpf: ") + std::strerror(error));
    }
}

TempBpffs::~TempBpffs() {
    umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
}

TempDir::TempDir() : path_(make_temp_dir("sockfilter-dir-")) {}

TempDir::~TempDir() { run("rm -rf '" + path_ + "'"); }

}  // namespace sockfilter_test
