// OwnedFd and ProgramFd: ownership moves, release, close-on-exec clones, and fds never landing on 0–2.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

bool is_cloexec(int fd) {
    const int flags = fcntl(fd, F_GETFD);
    return flags != -1 && (flags & FD_CLOEXEC) != 0;
}

int open_dev_null() {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return fd;
}

std::uint32_t id_of(int fd) {
    const auto info = ProgramInfo::from_fd(fd);
    INFO((info ? std::string() : info.error().message()));
    REQUIRE(info.has_value());
    return info->id();
}

}  // namespace

TEST_CASE("owned fd move and reset") {
    const int raw = open_dev_null();
    OwnedFd first(raw);
    CHECK(first.get() == raw);
    CHECK(static_cast<bool>(first));

    OwnedFd second(std::move(first));
    CHECK(first.get() == -1);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    CHECK_FALSE(static_cast<bool>(first));
    CHECK(second.get() == raw);
    CHECK(is_open(raw));

    // Move-assigning over an fd closes the old one.
    const int other_raw = open_dev_null();
    OwnedFd third(other_raw);
    third = std::move(second);
    CHECK(third.get() == raw);
    CHECK(second.get() == -1);  // NOLINT(bugprone-use-after-move)
    CHECK_FALSE(is_open(other_raw));
    CHECK(is_open(raw));

    third.reset();
    CHECK(third.get() == -1);
    CHECK_FALSE(is_open(raw));
    third.reset();  // a second reset closes nothing
    CHECK(third.get() == -1);

    const OwnedFd empty;
    CHECK(empty.get() == -1);
}

TEST_CASE("owned fd release") {
    const int raw = open_dev_null();
    int released = -1;
    {
        OwnedFd owner(raw);
        released = owner.release();
        CHECK(owner.get() == -1);
        CHECK(owner.release() == -1);
    }
    CHECK(released == raw);
    CHECK(is_open(raw));  // the destructor did not close it
    REQUIRE(close(raw) == 0);
}

TEST_CASE("owned fd try_clone") {
    const OwnedFd original(open_dev_null());
    auto clone = original.try_clone();
    INFO((clone ? std::string() : clone.error().message()));
    REQUIRE(clone.has_value());
    CHECK(clone->get() >= 3);
    CHECK(clone->get() != original.get());
    CHECK(is_cloexec(clone->get()));

    const OwnedFd empty;
    const auto none = empty.try_clone();
    REQUIRE_FALSE(none.has_value());
    INFO(none.error().message());
    CHECK(none.error().kind() == ErrorKind::InvalidArgument);
    CHECK(none.error().code().value() == 0);
}

TEST_CASE("program fd move release and clone") {
    REQUIRE_FEATURE(object_ids);
    SocketFilter filter = loaded("pfd_clone", filters::pass);
    const auto fd = filter.fd();
    REQUIRE(fd.has_value());
    const ProgramFd& owned = fd->get();
    const std::uint32_t id = id_of(owned.get());
    CHECK(owned.get() >= 3);
    CHECK(is_cloexec(owned.get()));

    auto clone = owned.try_clone();
    INFO((clone ? std::string() : clone.error().message()));
    REQUIRE(clone.has_value());
    CHECK(clone->get() >= 3);
    CHECK(clone->get() != owned.get());
    CHECK(is_cloexec(clone->get()));
    CHECK(id_of(clone->get()) == id);

    ProgramFd moved(std::move(*clone));
    CHECK(clone->get() == -1);  // NOLINT(bugprone-use-after-move)
    CHECK_FALSE(static_cast<bool>(*clone));
    REQUIRE(static_cast<bool>(moved));
    CHECK(id_of(moved.get()) == id);

    const int raw = moved.release();
    CHECK(moved.get() == -1);
    { const ProgramFd gone(std::move(moved)); }  // destroys an empty ProgramFd: closes nothing
    CHECK(is_open(raw));
    CHECK(id_of(raw) == id);
    REQUIRE(close(raw) == 0);

    // The program itself is unaffected by the clone's life.
    CHECK(id_of(owned.get()) == id);

    // Adopting an OwnedFd.
    auto dup = owned.try_clone();
    REQUIRE(dup.has_value());
    const ProgramFd adopted(OwnedFd(dup->release()));
    CHECK(id_of(adopted.get()) == id);

    // The destructor closes the fd it holds, once.
    int held = -1;
    {
        auto scoped = owned.try_clone();
        REQUIRE(scoped.has_value());
        held = scoped->get();
        CHECK(is_open(held));
    }
    CHECK_FALSE(is_open(held));
    CHECK(id_of(owned.get()) == id);
}

TEST_CASE("program fd try_clone of an empty fd") {
    const ProgramFd empty;
    CHECK(empty.get() == -1);
    const auto clone = empty.try_clone();
    REQUIRE_FALSE(clone.has_value());
    INFO(clone.error().message());
    CHECK(clone.error().kind() == ErrorKind::InvalidArgument);
    CHECK(clone.error().code().value() == 0);
}

TEST_CASE("program fds stay above 2 with standard streams closed") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string pin_path = bpffs / "low";
    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // In the child: keep the standard streams elsewhere, then free 0, 1 and 2 so the kernel hands them out.
        const int report = pipe_fds[1];
        close(pipe_fds[0]);
        const int saved_in = fcntl(0, F_DUPFD_CLOEXEC, 10);
        const int saved_out = fcntl(1, F_DUPFD_CLOEXEC, 10);
        const int saved_err = fcntl(2, F_DUPFD_CLOEXEC, 10);
        static_cast<void>(saved_in);
        static_cast<void>(saved_out);
        static_cast<void>(saved_err);
        close(0);
        close(1);
        close(2);
        std::string out;
        auto filter = SocketFilter::create("pfd_low", filters::pass);
        const auto load = filter ? filter->load() : Result<void>(std::unexpected(filter.error()));
        if (!load) {
            out = "load failed: " + load.error().message();
        } else {
            const int fd = filter->fd()->get().get();
            out += "load " + std::to_string(fd) + "\n";
            auto clone = filter->fd()->get().try_clone();
            out += "clone " + std::to_string(clone ? clone->get() : -1) + "\n";
            const auto pinned = filter->pin(pin_path);
            auto opened = pinned ? SocketFilter::from_pin(pin_path) : std::unexpected(pinned.error());
            out += "from_pin " + std::to_string(opened ? opened->fd()->get().get() : -1) + "\n";
            const auto info = filter->info();
            auto by_id = info ? info->fd() : std::unexpected(info.error());
            out += "by_id " + std::to_string(by_id ? by_id->get() : -1) + "\n";
            out += std::string("low fds closed ") + (is_open(0) || is_open(1) || is_open(2) ? "no" : "yes") + "\n";
            if (pinned) static_cast<void>(filter->unpin());
        }
        const auto written = write(report, out.data(), out.size());
        _exit(written == static_cast<ssize_t>(out.size()) ? 0 : 3);
    }
    close(pipe_fds[1]);
    std::string text;
    char chunk[256];
    for (ssize_t got; (got = read(pipe_fds[0], chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(got));
    close(pipe_fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("child wrote:\n" << text);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    auto number_after = [&](const std::string& key) {
        const auto at = text.find(key + " ");
        REQUIRE(at != std::string::npos);
        return std::stoi(text.substr(at + key.size() + 1));
    };
    CHECK(number_after("load") >= 3);
    CHECK(number_after("clone") >= 3);
    CHECK(number_after("from_pin") >= 3);
    CHECK(number_after("by_id") >= 3);
    CHECK(text.find("low fds closed yes") != std::string::npos);
}
