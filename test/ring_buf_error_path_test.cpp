// RingBuf error paths the kernel will not produce on demand, through the fake OS layer: each mmap and the
// epoll fd failing in turn, with everything mapped so far unmapped and no fd left open.
#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <utility>

#include "fake_syscall.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/ring_buf.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

Map ring_map() {
    auto map = Map::create({.type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096, .name = "fake_ring"});
    INFO(message_of(map));
    REQUIRE(map.has_value());
    return std::move(*map);
}

// Mappings of BPF maps in this process (/proc/self/maps names them anon_inode:bpf-map).
int bpf_map_mappings() {
    std::ifstream maps("/proc/self/maps");
    int count = 0;
    for (std::string line; std::getline(maps, line);) {
        if (line.find("bpf-map") != std::string::npos) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("ring_buf error path maps twice and unmaps both") {
    REQUIRE_FEATURE(ring_buffers);
    fake::Scope scope;
    const int before = bpf_map_mappings();
    {
        auto ring = RingBuf::create(ring_map());
        INFO(message_of(ring));
        REQUIRE(ring.has_value());
        CHECK(fake::mmap_calls() == 2);
        CHECK(bpf_map_mappings() == before + 2);
    }
    CHECK(fake::munmap_calls() == 2);
    CHECK(bpf_map_mappings() == before);
}

TEST_CASE("ring_buf error path the consumer page cannot be mapped") {
    REQUIRE_FEATURE(ring_buffers);
    fake::Scope scope;
    fake::fail_mmap(ENOMEM);
    const auto ring = RingBuf::create(ring_map());
    REQUIRE_FALSE(ring.has_value());
    CHECK(ring.error().operation() == "mmap");
    CHECK(ring.error().code() == std::errc::not_enough_memory);
    CHECK(ring.error().message().find("consumer page") != std::string::npos);
    CHECK(fake::mmap_calls() == 1);
    CHECK(fake::munmap_calls() == 0);
}

TEST_CASE("ring_buf error path the data area cannot be mapped and the consumer page is unmapped") {
    REQUIRE_FEATURE(ring_buffers);
    fake::Scope scope;
    const int before = bpf_map_mappings();
    fake::fail_mmap(EPERM, 1, 1);  // the first mmap succeeds, the second fails
    const auto ring = RingBuf::create(ring_map());
    REQUIRE_FALSE(ring.has_value());
    CHECK(ring.error().operation() == "mmap");
    CHECK(ring.error().kind() == ErrorKind::PermissionDenied);
    CHECK(ring.error().message().find("producer page") != std::string::npos);
    CHECK(fake::mmap_calls() == 2);
    CHECK(fake::munmap_calls() == 1);
    CHECK(bpf_map_mappings() == before);
}

TEST_CASE("ring_buf error path no epoll fd and both mappings are unmapped") {
    REQUIRE_FEATURE(ring_buffers);
    fake::Scope scope;
    const int before = bpf_map_mappings();
    fake::fail_epoll_create(EMFILE);
    const auto ring = RingBuf::create(ring_map());
    REQUIRE_FALSE(ring.has_value());
    CHECK(ring.error().operation() == "epoll_create1");
    CHECK(ring.error().code() == std::errc::too_many_files_open);
    CHECK(fake::munmap_calls() == 2);
    CHECK(bpf_map_mappings() == before);
}
