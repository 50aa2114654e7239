// RLIMIT_MEMLOCK: never touched by a load, changed only by an explicit raise_memlock_limit().
#include <catch2/catch.hpp>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filters.hpp"
#include "skip.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;

namespace {
rlimit memlock() {
    rlimit limit{};
    getrlimit(RLIMIT_MEMLOCK, &limit);
    return limit;
}
}  // namespace

TEST_CASE("load leaves RLIMIT_MEMLOCK alone") {
    REQUIRE_FEATURE(memcg_accounting);
    // A child lowers its own limit to 64 KiB first: on 5.11+ the load must succeed without any change.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const rlimit small{64 * 1024, 64 * 1024};
        if (setrlimit(RLIMIT_MEMLOCK, &small) != 0) _exit(10);
        auto filter = SocketFilter::create("memlock", sockfilter_test::filters::pass);
        if (!filter || !filter->load()) _exit(11);
        const rlimit after = memlock();
        _exit(after.rlim_cur == small.rlim_cur && after.rlim_max == small.rlim_max ? 0 : 12);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("raise_memlock_limit is explicit") {
    const bool has_sys_resource = sockfilter_test::has_capability(CAP_SYS_RESOURCE);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (!raise_memlock_limit(1 << 20)) _exit(10);
        if (memlock().rlim_cur != (1 << 20) || memlock().rlim_max != (1 << 20)) _exit(11);
        // Raising the hard limit back up needs CAP_SYS_RESOURCE (this sandbox's root may lack it).
        const auto raised = raise_memlock_limit();
        if (has_sys_resource) _exit(raised && memlock().rlim_cur == RLIM_INFINITY ? 0 : 12);
        if (raised || raised.error().kind() != ErrorKind::PermissionDenied) _exit(13);
        if (raised.error().message().find("CAP_SYS_RESOURCE") == std::string::npos) _exit(14);
        _exit(memlock().rlim_cur == (1 << 20) ? 0 : 15);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
