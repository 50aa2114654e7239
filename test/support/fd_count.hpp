// Test support: counting this process's open fds, and whether something exists at a path.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <string>

namespace sockfilter_test {

/// Entries of /proc/self/fd (the listing's own fd included), or -1 when /proc cannot be read. Compare
/// two counts taken the same way.
inline int open_fd_count() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    int count = 0;
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
    return count;
}

/// True when `path` names an existing file, directory or pin (stat follows symlinks).
inline bool path_exists(const std::string& path) {
    struct stat status {};
    return stat(path.c_str(), &status) == 0;
}

}  // namespace sockfilter_test
