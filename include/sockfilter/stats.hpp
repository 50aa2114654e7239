// enable_stats(): run-time statistics for every BPF program, while a guard lives.
#pragma once

#include "sockfilter/error.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter {

/// While a StatsGuard lives (and any other holder of such an fd), the kernel counts run time and run
/// count of every program (ProgramInfo::run_time(), run_count()). Move-only; destroying it stops the
/// counting unless others keep it on.
class StatsGuard final {
public:
    explicit StatsGuard(OwnedFd fd) noexcept : fd_(std::move(fd)) {}
    /// The BPF_ENABLE_STATS fd, borrowed.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    OwnedFd fd_;
};

/// BPF_ENABLE_STATS with BPF_STATS_RUN_TIME (Linux 5.8, CAP_SYS_ADMIN).
/// Errors: PermissionDenied; InvalidArgument on kernels before 5.8.
[[nodiscard]] Result<StatsGuard> enable_stats();

}  // namespace sockfilter
