// A fresh network namespace per socket test.
#include "netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace sockfilter_test {

bool link_up(const char* name) {
    const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return false;
    ifreq request{};
    std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    bool ok = ioctl(sock, SIOCGIFFLAGS, &request) == 0;
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    ok = ok && ioctl(sock, SIOCSIFFLAGS, &request) == 0;
    close(sock);
    return ok;
}

NetnsScope::NetnsScope() {
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original_ < 0) throw std::runtime_error("cannot open the current network namespace");
    if (unshare(CLONE_NEWNET) != 0) {
        close(original_);
        throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
    }
    if (!link_up("lo")) {
        setns(original_, CLONE_NEWNET);
        close(original_);
        throw std::runtime_error("cannot bring lo up in the new namespace");
    }
}

NetnsScope::~NetnsScope() {
    setns(original_, CLONE_NEWNET);
    close(original_);
}

int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<std::string> output_of(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
    std::string out;
    char chunk[512];
    while (const std::size_t got = std::fread(chunk, 1, sizeof chunk, pipe)) out.append(chunk, got);
    if (pclose(pipe) != 0) return std::nullopt;
    return out;
}

}  // namespace sockfilter_test
