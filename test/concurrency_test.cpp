// Concurrency: 8 threads use shared loaded filters (attach, detach, test_run, info) and pins (from_pin, pin,
// unpin) on their own sockets and pin paths, and a shared hash map (insert, get, remove). Every outcome is
// checked: the only errors allowed are the ones each step expects, counted exactly; no fd is left behind.
// Worker threads never call Catch2 (it is not thread-safe): they tally, and the main thread checks.
#include <catch2/catch.hpp>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bpffs.hpp"
#include "fd_count.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/typed_maps.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

constexpr int thread_count = 8;
constexpr int iterations = 1000;

// What one worker saw. Unexpected outcomes are counted, and the first few described.
struct Tally {
    std::vector<std::string> failures;
    std::size_t failure_count = 0;
    std::size_t expected_errors = 0;  // errors a step was meant to give (each counted where it is expected)

    void expect(bool ok, const std::string& what) {
        if (ok) return;
        ++failure_count;
        if (failures.size() < 5) failures.push_back(what);
    }
    template <typename T>
    void expect_ok(const Result<T>& result, const std::string& what) {
        expect(result.has_value(), what + ": " + message_of(result));
    }
    // An error of exactly `kind` is expected; a success or any other error is a failure.
    template <typename T>
    void expect_error(const Result<T>& result, ErrorKind kind, const std::string& what) {
        const bool ok = !result.has_value() && result.error().kind() == kind;
        expect(ok, what + ": expected " + std::string(to_string(kind)) + ", got " + message_of(result));
        if (ok) ++expected_errors;
    }
};

// Runs `body(index, tally)` on `thread_count` threads started together; returns their tallies.
template <typename Body>
std::vector<Tally> run_threads(Body body) {
    std::vector<Tally> tallies(thread_count);
    std::latch start(thread_count);
    std::vector<std::thread> threads;
    for (int index = 0; index < thread_count; ++index) {
        threads.emplace_back([&, index] {
            Tally& tally = tallies[static_cast<std::size_t>(index)];
            start.arrive_and_wait();
            try {
                body(index, tally);
            } catch (const std::exception& exception) {
                tally.expect(false, std::string("exception: ") + exception.what());
            }
        });
    }
    for (auto& thread : threads) thread.join();
    return tallies;
}

// Checks every tally on the main thread; returns the expected errors summed over all threads.
std::size_t check_tallies(const std::vector<Tally>& tallies) {
    std::size_t expected_errors = 0;
    for (std::size_t index = 0; index < tallies.size(); ++index) {
        const Tally& tally = tallies[index];
        for (const auto& failure : tally.failures) UNSCOPED_INFO("thread " << index << ": " << failure);
        CHECK(tally.failure_count == 0);
        expected_errors += tally.expected_errors;
    }
    return expected_errors;
}

// A datagram arriving on `fd` right now (unix datagrams are filtered and queued inside send()), or nullopt.
std::optional<std::string> receive_now(int fd) {
    std::string buffer(256, '\0');
    const auto got = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(got));
    return buffer;
}

// A 64-byte Ethernet frame (IPv4 ethertype) for test runs: the filter sees the 50 bytes after the header.
constexpr std::size_t frame_size = 64;
std::array<std::byte, frame_size> test_frame() {
    std::array<std::byte, frame_size> frame{};
    frame[12] = std::byte{0x08};
    frame[14] = std::byte{0x45};
    return frame;
}

// A shared filter and what every thread must observe of it.
struct Shared {
    const SocketFilter& filter;
    std::string pin;                    // where the main thread pinned it
    std::uint32_t id;                   // its kernel id
    std::uint32_t expected_return;      // test_run's return value on test_frame()
    bool drops;                         // drops everything (else trims 4 bytes)
};

// Sends `payload` through `pair` and checks what the filter in the receiver's slot let through.
void expect_filtered(Tally& tally, const UnixPair& pair, const std::string& payload, const Shared& shared,
                     const std::string& what) {
    tally.expect(send(pair.sender.get(), payload.data(), payload.size(), 0) == static_cast<ssize_t>(payload.size()),
                 what + ": send failed");
    const auto got = receive_now(pair.receiver.get());
    if (shared.drops) {
        tally.expect(!got.has_value(), what + ": a datagram got through drop_all");
    } else {
        tally.expect(got == payload.substr(0, payload.size() - 4), what + ": not trimmed by 4 bytes");
    }
}

// One iteration of a worker: see the TEST_CASE below.
void iterate(Tally& tally, const UnixPair& pair, const Shared& shared, const TempBpffs& bpffs, int thread, int iteration) {
    const std::string where = "iteration " + std::to_string(iteration);
    const std::string payload = "thread " + std::to_string(thread) + " " + where;

    tally.expect_ok(shared.filter.attach(pair.receiver.get()), where + " attach");
    expect_filtered(tally, pair, payload, shared, where + " attached");
    tally.expect_ok(SocketFilter::detach(pair.receiver.get()), where + " detach");
    tally.expect_error(SocketFilter::detach(pair.receiver.get()), ErrorKind::NotFound, where + " second detach");
    tally.expect(send(pair.sender.get(), payload.data(), payload.size(), 0) == static_cast<ssize_t>(payload.size()),
                 where + ": send after detach failed");
    tally.expect(receive_now(pair.receiver.get()) == payload, where + ": not whole after detach");

    const auto frame = test_frame();
    const auto ran = shared.filter.test_run({.data_in = frame});
    tally.expect_ok(ran, where + " test_run");
    if (ran) tally.expect(ran->return_value == shared.expected_return, where + ": test_run returned " + std::to_string(ran->return_value));

    const auto info = shared.filter.info();
    tally.expect_ok(info, where + " info");
    if (info) {
        tally.expect(info->id() == shared.id && info->name() == shared.filter.name() &&
                         info->program_type() == BPF_PROG_TYPE_SOCKET_FILTER,
                     where + ": info has another id, name or type");
    }

    // A filter of this thread's own, opened from the shared pin, pinned again at this thread's path.
    auto opened = SocketFilter::from_pin(shared.pin);
    tally.expect_ok(opened, where + " from_pin of the shared pin");
    if (!opened) return;
    tally.expect(opened->name() == shared.filter.name(), where + ": from_pin gave another name");
    const std::string own_path = bpffs / ("thread" + std::to_string(thread) + "_" + std::to_string(iteration % 4));
    tally.expect_ok(opened->pin(own_path), where + " pin at " + own_path);
    tally.expect_error(opened->pin(own_path + "b"), ErrorKind::AlreadyExists, where + " second pin of one object");
    {
        auto reopened = SocketFilter::from_pin(own_path);
        tally.expect_ok(reopened, where + " from_pin of the thread's pin");
        if (reopened) {
            const auto reopened_info = reopened->info();
            tally.expect(reopened_info && reopened_info->id() == shared.id, where + ": the thread's pin is another program");
            tally.expect_ok(reopened->attach(pair.receiver.get()), where + " attach of the reopened filter");
            expect_filtered(tally, pair, payload, shared, where + " reopened attached");
            tally.expect_ok(SocketFilter::detach(pair.receiver.get()), where + " detach of the reopened filter");
        }
    }
    tally.expect_ok(opened->unpin(), where + " unpin");
    tally.expect(!path_exists(own_path), where + ": the pin is still there after unpin");
}

}  // namespace

TEST_CASE("concurrency threads share loaded filters and pins") {
    REQUIRE_FEATURE(test_run);
    NetnsScope netns;  // the workers inherit it
    TempBpffs bpffs;
    SocketFilter drop = loaded("conc_drop", filters::drop_all);
    SocketFilter trim = loaded("conc_trim4", filters::trim_tail<4>);
    REQUIRE(drop.pin(bpffs / "drop").has_value());
    REQUIRE(trim.pin(bpffs / "trim").has_value());
    const auto drop_info = drop.info();
    const auto trim_info = trim.info();
    REQUIRE(drop_info.has_value());
    REQUIRE(trim_info.has_value());
    const std::array<Shared, 2> shared{
        Shared{drop, bpffs / "drop", drop_info->id(), 0, true},
        Shared{trim, bpffs / "trim", trim_info->id(), static_cast<std::uint32_t>(frame_size - 14 - 4), false},
    };
    std::vector<UnixPair> pairs;
    for (int index = 0; index < thread_count; ++index) pairs.push_back(unix_dgram_pair());

    const int fds_before = open_fd_count();
    const auto started = std::chrono::steady_clock::now();
    const auto tallies = run_threads([&](int thread, Tally& tally) {
        for (int iteration = 0; iteration < iterations; ++iteration) {
            // Threads alternate the two filters in opposite phases, so both are in use at every moment.
            iterate(tally, pairs[static_cast<std::size_t>(thread)], shared[static_cast<std::size_t>((thread + iteration) % 2)],
                    bpffs, thread, iteration);
        }
    });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    // Per iteration exactly two expected errors: detach of an empty slot, a second pin of one object.
    CHECK(check_tallies(tallies) == static_cast<std::size_t>(2 * thread_count * iterations));
    CHECK(open_fd_count() == fds_before);
    std::printf("%d threads x %d iterations (attach, detach, test_run, info, from_pin, pin, unpin): %lld ms\n",
                thread_count, iterations,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));

    // Nothing the threads made is left on the bpffs: only the main thread's two pins.
    int entries = 0;
    for (int thread = 0; thread < thread_count; ++thread) {
        for (int slot = 0; slot < 4; ++slot) {
            const std::string own = bpffs / ("thread" + std::to_string(thread) + "_" + std::to_string(slot));
            entries += path_exists(own) ? 1 : 0;
            entries += path_exists(own + "b") ? 1 : 0;
        }
    }
    CHECK(entries == 0);
    REQUIRE(drop.unpin().has_value());
    REQUIRE(trim.unpin().has_value());
}

TEST_CASE("concurrency threads share a hash map") {
    REQUIRE_FEATURE(maps);
    constexpr std::uint32_t keys_per_thread = iterations;
    auto map = view_of<HashMap<std::uint32_t, std::uint64_t>>(created_map(
        {.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = thread_count * keys_per_thread,
         .name = "conc_hash"}));
    const auto value_of = [](std::uint32_t key) { return (std::uint64_t{key} << 32) | (key * 2654435761U); };
    const auto key_of = [](int thread, std::uint32_t index) { return static_cast<std::uint32_t>(thread) * keys_per_thread + index; };

    const int fds_before = open_fd_count();
    const auto started = std::chrono::steady_clock::now();
    // Each thread inserts its own keys and reads them back, and reads its neighbour's keys while the
    // neighbour writes them: absent (NotFound) or the right value, nothing else.
    const auto inserted = run_threads([&](int thread, Tally& tally) {
        const int neighbour = (thread + 1) % thread_count;
        for (std::uint32_t index = 0; index < keys_per_thread; ++index) {
            const std::uint32_t key = key_of(thread, index);
            const std::string where = "key " + std::to_string(key);
            tally.expect_ok(map.insert(key, value_of(key), BPF_NOEXIST), where + " insert");
            tally.expect_error(map.insert(key, 0, BPF_NOEXIST), ErrorKind::AlreadyExists, where + " insert again");
            const auto got = map.get(key);
            tally.expect(got && *got == value_of(key), where + ": read back " + message_of(got));
            const std::uint32_t other = key_of(neighbour, index);
            const auto seen = map.get(other);
            tally.expect(seen ? *seen == value_of(other) : seen.error().kind() == ErrorKind::NotFound,
                         "neighbour key " + std::to_string(other) + ": " + message_of(seen));
        }
    });
    CHECK(check_tallies(inserted) == static_cast<std::size_t>(thread_count * keys_per_thread));
    const auto keys = map.keys();
    INFO(message_of(keys));
    REQUIRE(keys.has_value());
    CHECK(keys->size() == static_cast<std::size_t>(thread_count * keys_per_thread));
    for (const auto key : *keys) {
        const auto got = map.get(key);
        REQUIRE(got.has_value());
        CHECK(*got == value_of(key));
    }

    // Each thread removes its own keys; a second remove finds nothing.
    const auto removed = run_threads([&](int thread, Tally& tally) {
        for (std::uint32_t index = 0; index < keys_per_thread; ++index) {
            const std::uint32_t key = key_of(thread, index);
            tally.expect_ok(map.remove(key), "key " + std::to_string(key) + " remove");
            tally.expect_error(map.remove(key), ErrorKind::NotFound, "key " + std::to_string(key) + " remove again");
        }
    });
    CHECK(check_tallies(removed) == static_cast<std::size_t>(thread_count * keys_per_thread));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const auto left = map.keys();
    REQUIRE(left.has_value());
    CHECK(left->empty());
    CHECK(open_fd_count() == fds_before);
    std::printf("%d threads x %u keys (insert, insert again, get, neighbour get, remove, remove again): %lld ms\n",
                thread_count, keys_per_thread,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}
