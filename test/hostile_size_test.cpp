// Hostile sizes: test-run frames around the page the kernel copies them into, instruction counts at the
// limits, and caller log buffers at and below the kernel's minimum. Cases load_test and test_run_test already
// cover (13 and 14-byte frames, 0, 1, 1,000,000 and 1,000,001 instructions, 127 and 128-byte log buffers on
// a program that loads) are not repeated here.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter_test;
using namespace sockfilter::insn;

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// A frame of `size` bytes: an Ethernet header with an EtherType the kernel does not parse further, then filler.
std::vector<std::byte> frame_of(std::size_t size) {
    std::vector<std::byte> frame(size, std::byte{0x5a});
    if (size >= 14) {
        frame[12] = std::byte{0x88};  // 0x88b5: local experimental EtherType
        frame[13] = std::byte{0xb5};
    }
    return frame;
}

// The largest data_in the kernel's own BPF_PROG_TEST_RUN accepts, found by bisection through sys::.
std::size_t kernel_largest_frame(int program_fd, std::size_t page) {
    std::size_t accepted = 14;
    std::size_t refused = page + 1;
    while (refused - accepted > 1) {
        const std::size_t middle = accepted + (refused - accepted) / 2;
        const auto frame = frame_of(middle);
        const auto ran = sys::prog_test_run(program_fd, {.data_in = frame});
        if (ran) {
            accepted = middle;
        } else {
            INFO(ran.error().message());
            REQUIRE(ran.error().code() == std::errc::invalid_argument);
            refused = middle;
        }
    }
    return accepted;
}

// A test run of a `size`-byte frame is InvalidArgument with `errno_value` (0: refused before the syscall),
// and the message names the size and each of `words`.
void refused_frame(const SocketFilter& filter, std::size_t size, int errno_value, const std::vector<std::string>& words) {
    const auto frame = frame_of(size);
    const auto refused = filter.test_run({.data_in = frame});
    REQUIRE_FALSE(refused.has_value());
    const std::string message = refused.error().message();
    INFO(size << " bytes: " << message);
    CHECK(refused.error().kind() == ErrorKind::InvalidArgument);
    CHECK(refused.error().code().value() == errno_value);
    CHECK(contains(message, "data_in holds " + std::to_string(size) + " bytes"));
    for (const std::string& word : words) CHECK(contains(message, word));
}

// n instructions: r0 = 0 repeated, then exit.
std::vector<Insn> straight_line(std::size_t count) {
    std::vector<Insn> out(count - 1, mov64_imm(Reg::R0, 0));
    out.push_back(exit());
    return out;
}

}  // namespace

TEST_CASE("hostile size test_run frames around a page") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("hs_frames", filters::pass);
    const auto program = filter.fd();
    REQUIRE(program.has_value());
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t largest = kernel_largest_frame(program->get().get(), page);
    INFO("page " << page << ", largest frame the kernel accepts " << largest);
    // The kernel keeps room for the socket buffer's headroom and shared info in the page.
    CHECK(largest < page);
    CHECK(largest > page / 2);
#if defined(__x86_64__)
    CHECK(largest == page - 384);  // what the library's messages say for x86-64
#endif

    // The largest frame runs; the program sees everything after the Ethernet header.
    const auto biggest = frame_of(largest);
    const auto ran = filter.test_run({.data_in = biggest});
    INFO(message_of(ran));
    REQUIRE(ran.has_value());
    CHECK(ran->return_value == largest - 14);
    CHECK(ran->data_size_out == largest);

    // One byte more, and a whole page: the kernel's EINVAL, with the size and the limit in the message.
    for (const std::size_t size : {largest + 1, page}) {
        refused_frame(filter, size, EINVAL, {"at most " + std::to_string(page - 384)});
    }

    // Over a page can never fit: refused before the syscall, naming the size and what to do. The kernel
    // agrees (sys:: passes it through).
    for (const std::size_t size : {page + 1, std::size_t{64} * 1024, std::size_t{16} * 1024 * 1024}) {
        refused_frame(filter, size, 0, {"one page (" + std::to_string(page) + " bytes)", "several runs"});
        const auto frame = frame_of(size);
        const auto raw = sys::prog_test_run(program->get().get(), {.data_in = frame});
        REQUIRE_FALSE(raw.has_value());
        CHECK(raw.error().code() == std::errc::invalid_argument);
    }
}

TEST_CASE("hostile size instruction counts") {
    REQUIRE_FEATURE(cap_bpf);
    // 4,096 is the limit without CAP_BPF (privilege_test checks 4,097 is E2BIG there); with it, 4,096 and
    // 4,097 both load. 1,000,001 is in load_test.
    for (const std::size_t count : {std::size_t{4096}, std::size_t{4097}}) {
        SocketFilter filter = created("hs_" + std::to_string(count), straight_line(count));
        const auto load = filter.load();
        INFO(count << " instructions: " << message_of(load));
        CHECK(load.has_value());
    }
}

TEST_CASE("hostile size caller log buffers of 1 and 128 bytes") {
    REQUIRE_FEATURE(socket_filter_programs);
    // r0 = r2 with r2 never written: the verifier refuses it, with a log longer than 128 bytes.
    std::vector<Insn> rejected;
    for (int i = 0; i < 20; ++i) rejected.push_back(mov64_imm(Reg::R3, i));
    rejected.push_back(mov64(Reg::R0, Reg::R2));
    rejected.push_back(exit());
    SocketFilter filter = created("hs_log", rejected);

    std::array<char, 1> one{};
    const auto tiny = filter.load({.log_buffer = one});
    REQUIRE_FALSE(tiny.has_value());
    INFO(tiny.error().message());
    CHECK(tiny.error().kind() == ErrorKind::InvalidArgument);
    CHECK(tiny.error().code().value() == 0);
    CHECK(contains(tiny.error().message(), "holds 1 byte;"));
    CHECK(contains(tiny.error().message(), "at least 128"));

    // 128 bytes is accepted; the log is cut to fit (127 characters and the NUL) and the first errno kept.
    std::array<char, 128> least{};
    const auto cut = filter.load({.log_level = 2, .log_buffer = least});
    REQUIRE_FALSE(cut.has_value());
    const Error& error = cut.error();
    INFO(error.message());
    CHECK(error.kind() == ErrorKind::VerifierRejected);
    CHECK(error.code() == std::errc::permission_denied);
    CHECK(error.verifier_log_truncated());
    CHECK_FALSE(error.verifier_log().empty());
    CHECK(error.verifier_log().size() <= 127);
    CHECK(contains(error.message(), "truncated"));
    CHECK_FALSE(filter.is_loaded());
}
