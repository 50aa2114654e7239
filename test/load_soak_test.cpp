// Load and soak: one filter on 10,000 sockets, and a filter replaced thousands of times on a socket that a
// sender floods, checking that no datagram ever slips past the replacement.
#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fd_count.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

long long ms_since(steady_clock::time_point start) {
    return static_cast<long long>(std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count());
}

// Raises RLIMIT_NOFILE's soft limit (to the hard limit, or the hard limit too when that is lower than
// `needed` and the process may raise it) and restores both limits on destruction.
class NofileLimit {
public:
    explicit NofileLimit(rlim_t needed) {
        getrlimit(RLIMIT_NOFILE, &original_);
        if (original_.rlim_cur >= needed) return;
        rlimit raised = original_;
        raised.rlim_cur = original_.rlim_max;
        if (raised.rlim_max < needed) raised.rlim_cur = raised.rlim_max = needed;  // needs CAP_SYS_RESOURCE
        if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
            reason_ = "RLIMIT_NOFILE is " + std::to_string(original_.rlim_cur) + " (hard " + std::to_string(original_.rlim_max) +
                      ") and cannot be raised to " + std::to_string(needed) + ": " + std::strerror(errno);
            return;
        }
        changed_ = true;
    }
    ~NofileLimit() {
        if (changed_) setrlimit(RLIMIT_NOFILE, &original_);
    }
    NofileLimit(const NofileLimit&) = delete;
    NofileLimit& operator=(const NofileLimit&) = delete;
    /// Empty when the limit is high enough; otherwise why not.
    [[nodiscard]] const std::string& skip_reason() const noexcept { return reason_; }

private:
    rlimit original_{};
    bool changed_ = false;
    std::string reason_;
};

// The program's run count (statistics on), or 0 when info() fails (then checked by the caller's REQUIRE).
std::uint64_t runs_of(const Program& program) {
    const auto info = program.info();
    return info && info->run_count() ? *info->run_count() : 0;
}

// A datagram queued on `fd`, without waiting.
bool has_datagram(int fd) {
    char byte = 0;
    return recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
}

// Floods 127.0.0.1:port from a thread of its own for `duration`; counts what sendto accepted.
class Flood {
public:
    Flood(std::uint16_t port, milliseconds duration, std::size_t size)
        : thread_([this, port, duration, size] {
              const OwnedFd sender = udp_sender();
              std::string payload(size, '\0');
              const auto end = steady_clock::now() + duration;
              for (std::uint64_t sequence = 0; steady_clock::now() < end; ++sequence) {
                  fill(payload, sequence);
                  if (send_udp(sender.get(), port, payload)) sent_.fetch_add(1, std::memory_order_relaxed);
              }
              done_.store(true, std::memory_order_release);
          }) {}
    ~Flood() { thread_.join(); }
    Flood(const Flood&) = delete;
    Flood& operator=(const Flood&) = delete;

    [[nodiscard]] bool done() const noexcept { return done_.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }

    /// The datagram numbered `sequence`: its number in the first 8 bytes, then bytes derived from it.
    static void fill(std::string& payload, std::uint64_t sequence) {
        std::memcpy(payload.data(), &sequence, sizeof sequence);
        for (std::size_t i = sizeof sequence; i < payload.size(); ++i) payload[i] = static_cast<char>(sequence * 31 + i);
    }

private:
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<bool> done_{false};
    std::thread thread_;  // last: starts once the counters exist
};

// Attaches `first` and `second` in turn to `socket` until `flood` is done; returns the number of attaches.
std::uint64_t alternate(const SocketFilter& first, const SocketFilter& second, int socket, const Flood& flood,
                        std::uint64_t& failures) {
    std::uint64_t replacements = 0;
    while (!flood.done()) {
        const SocketFilter& next = replacements % 2 == 0 ? second : first;
        if (!next.attach(socket)) ++failures;
        ++replacements;
    }
    return replacements;
}

constexpr milliseconds flood_time{3000};

}  // namespace

TEST_CASE("soak one filter on 10000 sockets") {
    REQUIRE_FEATURE(enable_stats);  // counts the filter's runs
    constexpr std::size_t socket_count = 10000;
    const NofileLimit limit(socket_count + 256);
    SKIP_UNLESS(limit.skip_reason());
    NetnsScope netns;
    const auto stats = stats_enabled();
    const SocketFilter filter = loaded("soak_drop", filters::drop_all);
    const OwnedFd sender = udp_sender();
    const int fds_before = open_fd_count();
    {
        std::vector<UdpReceiver> receivers;
        receivers.reserve(socket_count);
        for (std::size_t i = 0; i < socket_count; ++i) receivers.push_back(udp_receiver());

        auto started = steady_clock::now();
        std::size_t attach_failures = 0;
        for (const auto& receiver : receivers) {
            if (!filter.attach(receiver.fd.get())) ++attach_failures;
        }
        const long long attach_ms = ms_since(started);
        CHECK(attach_failures == 0);

        // One datagram to each socket: the filter runs once per socket and drops every one.
        std::size_t send_failures = 0;
        for (const auto& receiver : receivers) {
            if (!send_udp(sender.get(), receiver.port, "dropped")) ++send_failures;
        }
        CHECK(send_failures == 0);
        for (int wait = 0; wait < 500 && runs_of(filter) < socket_count; ++wait) std::this_thread::sleep_for(milliseconds(10));
        CHECK(runs_of(filter) == socket_count);
        std::size_t got_through = 0;
        for (const auto& receiver : receivers) {
            if (has_datagram(receiver.fd.get())) ++got_through;
        }
        CHECK(got_through == 0);

        started = steady_clock::now();
        std::size_t detach_failures = 0;
        for (const auto& receiver : receivers) {
            if (!SocketFilter::detach(receiver.fd.get())) ++detach_failures;
        }
        const long long detach_ms = ms_since(started);
        CHECK(detach_failures == 0);

        // Without the filter every socket gets its datagram, and the filter runs no more.
        std::size_t whole = 0;
        for (const auto& receiver : receivers) {
            if (send_udp(sender.get(), receiver.port, "arrives") &&
                receive(receiver.fd.get()) == std::optional<std::string>("arrives")) {
                ++whole;
            }
        }
        CHECK(whole == socket_count);
        CHECK(runs_of(filter) == socket_count);
        std::printf("%zu sockets: attach %lld ms, detach %lld ms; %zu datagrams dropped by the filter, %zu received after detach\n",
                    socket_count, attach_ms, detach_ms, socket_count - got_through, whole);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("soak replacing drop_all by drop_all under a flood lets nothing through") {
    REQUIRE_FEATURE(enable_stats);  // counts each filter's runs
    NetnsScope netns;
    const auto stats = stats_enabled();
    const SocketFilter first = loaded("soak_drop_a", filters::drop_all);
    const SocketFilter second = loaded("soak_drop_b", filters::drop_all);
    const auto receiver = udp_receiver(milliseconds(100));
    REQUIRE(first.attach(receiver.fd.get()).has_value());  // filtered before the first datagram is sent

    std::uint64_t failures = 0;
    std::uint64_t replacements = 0;
    std::uint64_t sent = 0;
    const auto started = steady_clock::now();
    {
        const Flood flood(receiver.port, flood_time, 64);
        replacements = alternate(first, second, receiver.fd.get(), flood, failures);
        while (!flood.done()) std::this_thread::yield();
        sent = flood.sent();
    }
    const long long elapsed_ms = ms_since(started);
    CHECK(failures == 0);
    CHECK(replacements >= 1000);
    // Anything that got past a replacement would still be queued (the receive buffer holds hundreds).
    const auto received = receive_all(receiver.fd.get());
    CHECK(received.empty());
    // Both filters ran on traffic, so the replacements happened while datagrams were arriving.
    const std::uint64_t runs_first = runs_of(first);
    const std::uint64_t runs_second = runs_of(second);
    CHECK(runs_first > 0);
    CHECK(runs_second > 0);
    CHECK(runs_first + runs_second <= sent);
    std::printf("drop_all/drop_all: %llu replacements in %lld ms; %llu datagrams sent, filtered %llu + %llu, received %zu\n",
                static_cast<unsigned long long>(replacements), elapsed_ms, static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(runs_first), static_cast<unsigned long long>(runs_second), received.size());
    REQUIRE(SocketFilter::detach(receiver.fd.get()).has_value());
}

TEST_CASE("soak replacing pass by trim under a flood gives whole or trimmed datagrams") {
    REQUIRE_FEATURE(so_attach_bpf);
    NetnsScope netns;
    constexpr std::size_t size = 200;
    constexpr std::size_t kept = 16;  // the trim filter keeps the 8-byte UDP header and 16 payload bytes
    const SocketFilter pass = loaded("soak_pass", filters::pass);
    const SocketFilter trim = loaded("soak_trim16", filters::return_constant<8 + static_cast<int>(kept)>);
    const auto receiver = udp_receiver(milliseconds(200));
    REQUIRE(pass.attach(receiver.fd.get()).has_value());

    // A reader drains the socket during the flood and sorts every datagram: whole, trimmed to exactly
    // `kept` bytes, or anything else (wrong size or bytes that are not a prefix of what was sent).
    std::uint64_t whole = 0;
    std::uint64_t trimmed = 0;
    std::uint64_t other = 0;
    std::atomic<bool> flood_over{false};
    std::thread reader([&] {
        std::string expected(size, '\0');
        for (;;) {
            const auto got = receive(receiver.fd.get(), size + 1);
            if (!got) {
                if (flood_over.load(std::memory_order_acquire)) return;  // timed out after the flood
                continue;
            }
            std::uint64_t sequence = 0;
            if (got->size() >= sizeof sequence) std::memcpy(&sequence, got->data(), sizeof sequence);
            Flood::fill(expected, sequence);
            if (got->size() == size && *got == expected) {
                ++whole;
            } else if (got->size() == kept && expected.compare(0, kept, *got) == 0) {
                ++trimmed;
            } else {
                ++other;
            }
        }
    });

    std::uint64_t failures = 0;
    std::uint64_t replacements = 0;
    std::uint64_t sent = 0;
    const auto started = steady_clock::now();
    {
        const Flood flood(receiver.port, flood_time, size);
        replacements = alternate(pass, trim, receiver.fd.get(), flood, failures);
        while (!flood.done()) std::this_thread::yield();
        sent = flood.sent();
    }
    flood_over.store(true, std::memory_order_release);
    reader.join();
    const long long elapsed_ms = ms_since(started);
    CHECK(failures == 0);
    CHECK(replacements >= 1000);
    CHECK(other == 0);
    CHECK(whole > 0);
    CHECK(trimmed > 0);
    CHECK(whole + trimmed <= sent);
    std::printf("pass/trim: %llu replacements in %lld ms; %llu datagrams sent, received %llu whole, %llu trimmed to %zu bytes, %llu other\n",
                static_cast<unsigned long long>(replacements), elapsed_ms, static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(whole), static_cast<unsigned long long>(trimmed), kept,
                static_cast<unsigned long long>(other));
    REQUIRE(SocketFilter::detach(receiver.fd.get()).has_value());
}
