// Test support: a private bpffs mounted on a temporary directory for the test's lifetime.
#pragma once

#include <string>

namespace sockfilter_test {

/// mkdtemp + mount -t bpf; unmounted (lazily) and removed on destruction.
class TempBpffs {
public:
    TempBpffs();
    ~TempBpffs();
    TempBpffs(const TempBpffs&) = delete;
    TempBpffs& operator=(const TempBpffs&) = delete;

    /// The mount point.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// path() + "/" + name.
    [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

/// A temporary directory on an ordinary filesystem (not bpffs), removed recursively on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace sockfilter_test
