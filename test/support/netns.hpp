// Test support: a fresh network namespace for the calling thread, left on destruction, and running the
// commands (ip, bpftool, …) the tests check against.
#pragma once

#include <optional>
#include <string>

namespace sockfilter_test {

/// Moves the calling thread into a new network namespace with loopback up; restores the previous
/// namespace on destruction. Child processes started meanwhile (ip, …) run inside it.
class NetnsScope {
public:
    NetnsScope();
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

private:
    int original_ = -1;
};

/// Runs a shell command; returns its exit status (0 = success).
int run(const std::string& command);
/// Runs a shell command; returns its standard output, or nullopt when it exits non-zero.
std::optional<std::string> output_of(const std::string& command);

/// Brings an interface up (SIOCSIFFLAGS) in the current namespace.
bool link_up(const char* name);

}  // namespace sockfilter_test
