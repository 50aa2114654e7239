// enable_stats() and raise_memlock_limit(): the two explicit process- or system-wide switches.
#include "sockfilter/stats.hpp"

#include <linux/bpf.h>

#include "sockfilter/program.hpp"
#include "sockfilter/sys.hpp"
#include "syscall.hpp"

namespace sockfilter {

Result<StatsGuard> enable_stats() {
    return Result<StatsGuard>(sys::enable_stats(BPF_STATS_RUN_TIME));
}

Result<void> raise_memlock_limit(unsigned long long bytes) {
    const int ret = detail::os::set_memlock_limit(bytes);
    if (ret < 0) return std::unexpected(Error::from_errno("RLIMIT_MEMLOCK", -ret));
    return {};
}

}  // namespace sockfilter
