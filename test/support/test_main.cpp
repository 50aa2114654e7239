// The test executables' main: Catch2, an fd-leak check around every test case, and exit code 77 for
// a run whose only test cases were skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "fd_count.hpp"
#include "skip.hpp"

namespace {

using sockfilter_test::open_fd_count;

bool leaked = false;

struct FdLeakListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    int before = 0;
    void testCaseStarting(const Catch::TestCaseInfo&) override { before = open_fd_count(); }
    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        const int after = open_fd_count();
        if (after != before) {
            std::fprintf(stderr, "FD LEAK in \"%s\": %d open fds before, %d after\n", stats.testInfo.name.c_str(),
                         before, after);
            leaked = true;
        }
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(FdLeakListener)

int main(int argc, char* argv[]) {
    Catch::Session session;
    if (const int bad_arguments = session.applyCommandLine(argc, argv); bad_arguments != 0) return bad_arguments;
    // A filter that matches no test case is a failure, not a silent pass.
    session.configData().warnings = static_cast<Catch::WarnAbout::What>(session.configData().warnings | Catch::WarnAbout::NoTests);
    const int failures = session.run();
    if (failures != 0) return failures;
    if (leaked) return 1;
    if (!sockfilter_test::skip_reason().empty()) {
        std::printf("SKIPPED: %s\n", sockfilter_test::skip_reason().c_str());
        return 77;
    }
    return 0;
}
