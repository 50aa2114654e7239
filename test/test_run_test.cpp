// BPF_PROG_TEST_RUN on socket filters: return values, output buffers, the __sk_buff context and errors.
#include <arpa/inet.h>
#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>

#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/sys.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

// 14 bytes of Ethernet (IPv4 ethertype), 20 of IPv4 header, 20 more: 54 bytes, every byte distinct.
std::array<std::byte, 54> ipv4_frame() {
    std::array<std::byte, 54> frame{};
    for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::byte>(i + 1);
    frame[12] = std::byte{0x08};
    frame[13] = std::byte{0x00};
    frame[14] = std::byte{0x45};  // IPv4, IHL 5
    return frame;
}

using namespace sockfilter::insn;

// return skb->mark
constexpr auto return_mark = program(ldx_mem(Size::W, Reg::R0, Reg::R1, offsetof(__sk_buff, mark)), exit());
// return skb->protocol (network byte order, as the kernel stores it)
constexpr auto return_protocol = program(ldx_mem(Size::W, Reg::R0, Reg::R1, offsetof(__sk_buff, protocol)), exit());

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("test_run returns skb len") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_pass", filters::pass);
    const auto frame = ipv4_frame();
    std::array<std::byte, 64> out{};
    out.fill(std::byte{0xee});

    const auto ran = filter.test_run({.data_in = frame, .data_out = out});
    INFO(message_of(ran));
    REQUIRE(ran.has_value());
    CHECK(ran->return_value == 40);  // the program sees what follows the 14-byte Ethernet header
    CHECK(ran->duration > std::chrono::nanoseconds(0));
    CHECK(ran->data_size_out == 54);
    CHECK(ran->ctx_size_out == 0);
    // The packet comes back with the Ethernet header zeroed and the rest as sent; nothing past 54 is written.
    for (std::size_t i = 0; i < 14; ++i) CHECK(out[i] == std::byte{0});
    CHECK(std::memcmp(out.data() + 14, frame.data() + 14, 40) == 0);
    for (std::size_t i = 54; i < out.size(); ++i) CHECK(out[i] == std::byte{0xee});

    // Without data_out nothing is copied, and the size is still reported.
    const auto no_out = filter.test_run({.data_in = frame});
    INFO(message_of(no_out));
    REQUIRE(no_out.has_value());
    CHECK(no_out->return_value == 40);
    CHECK(no_out->data_size_out == 54);
}

TEST_CASE("test_run other return values") {
    REQUIRE_FEATURE(test_run);
    const auto frame = ipv4_frame();
    const SocketFilter drop = loaded("tr_drop", filters::drop_all);
    const auto dropped = drop.test_run({.data_in = frame});
    INFO(message_of(dropped));
    REQUIRE(dropped.has_value());
    CHECK(dropped->return_value == 0);

    const SocketFilter trim = loaded("tr_trim", filters::trim_tail<7>);
    const auto trimmed = trim.test_run({.data_in = frame});
    REQUIRE(trimmed.has_value());
    CHECK(trimmed->return_value == 33);

    const SocketFilter protocol = loaded("tr_proto", return_protocol);
    const auto proto = protocol.test_run({.data_in = frame});
    REQUIRE(proto.has_value());
    CHECK(proto->return_value == htons(0x0800));  // skb->protocol from bytes 12–13
}

TEST_CASE("test_run repeat") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_repeat", filters::pass);
    const auto frame = ipv4_frame();
    const auto ran = filter.test_run({.data_in = frame, .repeat = 1000});
    INFO(message_of(ran));
    REQUIRE(ran.has_value());
    CHECK(ran->return_value == 40);
    CHECK(ran->duration > std::chrono::nanoseconds(0));
    CHECK(ran->duration < std::chrono::milliseconds(10));  // a mean per run, not the total

    const auto zero = filter.test_run({.data_in = frame, .repeat = 0});  // counts as 1
    INFO(message_of(zero));
    REQUIRE(zero.has_value());
    CHECK(zero->return_value == 40);
}

TEST_CASE("test_run data_out too small") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_small", filters::pass);
    const auto frame = ipv4_frame();
    std::array<std::byte, 5> out{};
    const auto ran = filter.test_run({.data_in = frame, .data_out = out});
    REQUIRE_FALSE(ran.has_value());
    const std::string message = ran.error().message();
    INFO(message);
    CHECK(ran.error().kind() == ErrorKind::NoSpace);
    CHECK(ran.error().code() == std::errc::no_space_on_device);
    CHECK(ran.error().operation() == "BPF_PROG_TEST_RUN");
    CHECK(ran.error().sizes_needed().data == std::optional<std::uint32_t>(54));
    CHECK_FALSE(ran.error().sizes_needed().ctx.has_value());
    CHECK(contains(message, "data_out 54 bytes"));
}

TEST_CASE("test_run frame shorter than Ethernet") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_short", filters::pass);
    std::array<std::byte, 13> frame{};
    const auto ran = filter.test_run({.data_in = frame});
    REQUIRE_FALSE(ran.has_value());
    const std::string message = ran.error().message();
    INFO(message);
    CHECK(ran.error().kind() == ErrorKind::InvalidArgument);
    CHECK(ran.error().code().value() == 0);  // found before the syscall: the kernel would only say EINVAL
    CHECK(contains(message, "data_in holds 13 bytes"));
    CHECK(contains(message, "14 bytes"));

    // The kernel's own answer to the same frame, through the sys layer.
    const auto program = filter.fd();
    REQUIRE(program.has_value());
    const auto raw = sys::prog_test_run(program->get().get(), {.data_in = frame});
    REQUIRE_FALSE(raw.has_value());
    CHECK(raw.error().code() == std::errc::invalid_argument);

    std::array<std::byte, 14> header_only{};
    const auto minimal = filter.test_run({.data_in = header_only});
    INFO(message_of(minimal));
    REQUIRE(minimal.has_value());
    CHECK(minimal->return_value == 0);  // nothing after the header

    const auto empty = filter.test_run({});
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().kind() == ErrorKind::InvalidArgument);
}

TEST_CASE("test_run context mark round trip") {
    REQUIRE_FEATURE(test_run_ctx);
    const SocketFilter filter = loaded("tr_mark", return_mark);
    const auto frame = ipv4_frame();
    // memset, not {}: the kernel refuses non-zero bytes outside the settable fields, padding included.
    __sk_buff ctx_in;
    std::memset(&ctx_in, 0, sizeof ctx_in);
    ctx_in.mark = 42;
    ctx_in.priority = 7;
    __sk_buff ctx_out;
    std::memset(&ctx_out, 0, sizeof ctx_out);
    ctx_out.mark = 1;
    const auto ran = filter.test_run({
        .data_in = frame,
        .ctx_in = std::as_bytes(std::span(&ctx_in, 1)),
        .ctx_out = std::as_writable_bytes(std::span(&ctx_out, 1)),
    });
    INFO(message_of(ran));
    REQUIRE(ran.has_value());
    CHECK(ran->return_value == 42);
    CHECK(ran->ctx_size_out == sizeof(__sk_buff));
    CHECK(ctx_out.mark == 42);
    CHECK(ctx_out.priority == 7);

    SECTION("without ctx_in the mark is 0") {
        const auto bare = filter.test_run({.data_in = frame});
        REQUIRE(bare.has_value());
        CHECK(bare->return_value == 0);
    }
    SECTION("ctx_out too small") {
        std::array<std::byte, 8> small{};
        const auto cut = filter.test_run({.data_in = frame, .ctx_in = std::as_bytes(std::span(&ctx_in, 1)), .ctx_out = small});
        REQUIRE_FALSE(cut.has_value());
        INFO(cut.error().message());
        CHECK(cut.error().kind() == ErrorKind::NoSpace);
        CHECK(cut.error().sizes_needed().ctx == std::optional<std::uint32_t>(sizeof(__sk_buff)));
    }
    SECTION("a context field that may not be set") {
        __sk_buff with_len;
        std::memset(&with_len, 0, sizeof with_len);
        with_len.len = 100;
        const auto refused = filter.test_run({.data_in = frame, .ctx_in = std::as_bytes(std::span(&with_len, 1))});
        REQUIRE_FALSE(refused.has_value());
        INFO(refused.error().message());
        CHECK(refused.error().kind() == ErrorKind::InvalidArgument);
        CHECK(contains(refused.error().message(), "ctx_in"));
    }
}

TEST_CASE("test_run checksum complete flag") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_csum", filters::pass);
    const auto checksum = filter.test_run({.data_in = ipv4_frame(), .flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE});
    INFO(message_of(checksum));
    // Debian's 6.1 (6.1.192) carries the flag back from 6.11: a kernel may accept it earlier, never refuse it later.
    if (sockfilter_test::kernel_lacks(sockfilter_test::feature::test_run_checksum_complete).empty() || checksum) {
        REQUIRE(checksum.has_value());
        CHECK(checksum->return_value == 40);
    } else {
        CHECK(checksum.error().kind() == ErrorKind::NotSupported);
        CHECK(checksum.error().code() == std::errc::invalid_argument);
        CHECK(contains(checksum.error().message(), "needs Linux 6.11"));
    }
}

TEST_CASE("test_run flags") {
    REQUIRE_FEATURE(test_run);
    const SocketFilter filter = loaded("tr_flags", filters::pass);
    const auto frame = ipv4_frame();
    for (const std::uint32_t flags : {BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES, 1u << 20}) {
        const auto refused = filter.test_run({.data_in = frame, .flags = flags});
        REQUIRE_FALSE(refused.has_value());
        INFO("flags " << flags << ": " << refused.error().message());
        CHECK(refused.error().kind() == ErrorKind::InvalidArgument);
        CHECK(refused.error().code() == std::errc::invalid_argument);
    }
}

TEST_CASE("test_run before load") {
    auto filter = SocketFilter::create("tr_unloaded", filters::pass);
    REQUIRE(filter.has_value());
    const auto frame = ipv4_frame();
    const auto ran = filter->test_run({.data_in = frame});
    REQUIRE_FALSE(ran.has_value());
    INFO(ran.error().message());
    CHECK(ran.error().kind() == ErrorKind::NotLoaded);
    CHECK(ran.error().code().value() == 0);
    CHECK(ran.error().operation() == "BPF_PROG_TEST_RUN");
}
