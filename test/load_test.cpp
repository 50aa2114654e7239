// Loading: verifier rejections with their log, size limits, program names, caller log buffers, reloads.
#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <span>
#include <string>
#include <vector>

#include "filters.hpp"
#include "loaded.hpp"
#include "skip.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;
using namespace sockfilter::insn;

namespace {

// exit with r0 never written: "R0 !read_ok".
constexpr auto exit_without_r0 = program(exit());
// r0 = r2, but r2 was never written: "R2 !read_ok".
constexpr auto reads_uninitialised_r2 = program(mov64(Reg::R0, Reg::R2), exit());
// An opcode the kernel does not know (class ALU64, op 0xf0): "unknown opcode", EINVAL.
constexpr auto unknown_opcode = program(Insn{BPF_ALU64 | 0xf0 | BPF_K, 0, 0, 0}, mov64_imm(Reg::R0, 0), exit());

// Forty harmless instructions, then the uninitialised read: a log long enough to overflow small buffers.
std::vector<Insn> long_rejected_program() {
    std::vector<Insn> out;
    for (int i = 0; i < 40; ++i) out.push_back(mov64_imm(Reg::R3, i));
    out.push_back(mov64(Reg::R0, Reg::R2));
    out.push_back(exit());
    return out;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("load rejected by the verifier") {
    REQUIRE_FEATURE(socket_filter_programs);
    SocketFilter filter = created("rejected_r0", exit_without_r0);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    const Error& error = load.error();
    const std::string message = error.message();
    INFO(message);
    CHECK(error.kind() == ErrorKind::VerifierRejected);
    CHECK(error.operation() == "BPF_PROG_LOAD");
    CHECK(error.code() == std::errc::permission_denied);  // EACCES from the first, log-less attempt
    CHECK_FALSE(error.verifier_log().empty());
    CHECK(contains(error.verifier_log(), "R0 !read_ok"));
    CHECK_FALSE(error.verifier_log_truncated());
    CHECK(contains(message, "the verifier refused the program"));
    CHECK(contains(message, "R0 !read_ok"));
    CHECK(contains(message, "EACCES"));
    CHECK_FALSE(filter.is_loaded());
    CHECK(filter.fd().error().kind() == ErrorKind::NotLoaded);
}

TEST_CASE("load reading an uninitialised register") {
    REQUIRE_FEATURE(socket_filter_programs);
    SocketFilter filter = created("rejected_r2", reads_uninitialised_r2);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    INFO(load.error().message());
    CHECK(load.error().kind() == ErrorKind::VerifierRejected);
    CHECK(load.error().code() == std::errc::permission_denied);
    CHECK(contains(load.error().verifier_log(), "R2 !read_ok"));
}

TEST_CASE("load with an unknown opcode") {
    REQUIRE_FEATURE(socket_filter_programs);
    SocketFilter filter = created("rejected_op", unknown_opcode);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    INFO(load.error().message());
    CHECK(load.error().kind() == ErrorKind::VerifierRejected);
    CHECK(load.error().code() == std::errc::invalid_argument);  // EINVAL, the first attempt's errno
    CHECK(contains(load.error().verifier_log(), "unknown opcode"));
}

TEST_CASE("load with no instructions") {
    const auto filter = SocketFilter::create("empty", {});
    REQUIRE_FALSE(filter.has_value());
    INFO(filter.error().message());
    CHECK(filter.error().kind() == ErrorKind::InvalidArgument);
    CHECK(filter.error().code().value() == 0);
    CHECK(contains(filter.error().message(), "no instructions"));
}

TEST_CASE("load too many instructions") {
    REQUIRE_FEATURE(million_insns);
    std::vector<Insn> huge(1'000'000, mov64_imm(Reg::R0, 0));
    huge.push_back(exit());
    REQUIRE(huge.size() == 1'000'001);  // one past the limit
    SocketFilter filter = created("huge", huge);
    const auto load = filter.load();
    REQUIRE_FALSE(load.has_value());
    const std::string message = load.error().message();
    INFO(message);
    CHECK(load.error().kind() == ErrorKind::TooBig);
    CHECK(load.error().code() == std::errc::argument_list_too_long);
    CHECK(contains(message, "E2BIG"));
    CHECK(contains(message, "1,000,000"));
    CHECK(contains(message, "the program has 1000001 instructions"));
    CHECK(load.error().verifier_log().empty());  // refused before the verifier ran
    CHECK_FALSE(filter.is_loaded());
}

TEST_CASE("load one million instructions") {
    REQUIRE_FEATURE(million_insns);
    std::vector<Insn> largest(999'999, mov64_imm(Reg::R0, 0));
    largest.push_back(exit());
    REQUIRE(largest.size() == 1'000'000);
    SocketFilter filter = created("largest", largest);
    const auto load = filter.load();
    INFO((load ? std::string() : load.error().message()));
    CHECK(load.has_value());
}

TEST_CASE("load program names") {
    SECTION("16 characters") {
        const auto filter = SocketFilter::create("abcdefghijklmnop", filters::pass);
        REQUIRE_FALSE(filter.has_value());
        const std::string message = filter.error().message();
        INFO(message);
        CHECK(filter.error().kind() == ErrorKind::InvalidArgument);
        CHECK(filter.error().code().value() == 0);
        CHECK(contains(message, "abcdefghijklmnop"));
        CHECK(contains(message, "16 characters"));
        CHECK(contains(message, "15"));
    }
    SECTION("a dash") {
        const auto filter = SocketFilter::create("my-filter", filters::pass);
        REQUIRE_FALSE(filter.has_value());
        const std::string message = filter.error().message();
        INFO(message);
        CHECK(filter.error().kind() == ErrorKind::InvalidArgument);
        CHECK(contains(message, "character 2"));
        CHECK(contains(message, "A-Z a-z 0-9 _ ."));
    }
    SECTION("a space") {
        const auto filter = SocketFilter::create("my filter", filters::pass);
        REQUIRE_FALSE(filter.has_value());
        INFO(filter.error().message());
        CHECK(filter.error().kind() == ErrorKind::InvalidArgument);
        CHECK(contains(filter.error().message(), "character 2"));
    }
    SECTION("a NUL byte") {
        const auto filter = SocketFilter::create(std::string_view("ab\0c", 4), filters::pass);
        REQUIRE_FALSE(filter.has_value());
        CHECK(filter.error().kind() == ErrorKind::InvalidArgument);
    }
}

TEST_CASE("load accepted names") {
    REQUIRE_FEATURE(dot_in_names);
    for (const std::string_view name : {"abcdefghijklmno", "with.dot", ".", "A_9.z", ""}) {
        SocketFilter filter = created(name, filters::pass);
        const auto load = filter.load();
        INFO("name \"" << name << "\": " << (load ? std::string("loaded") : load.error().message()));
        REQUIRE(load.has_value());
        const auto info = filter.info();
        REQUIRE(info.has_value());
        CHECK(info->name() == std::optional<std::string_view>(name));
        CHECK(filter.name() == name);
    }
}

namespace {

// Loads `filter` (long_rejected_program) at log level 2 into the caller's small `buffer`: on every kernel
// the error keeps the first errno (EACCES, not the retry's ENOSPC) and a cut, non-empty log.
Error rejected_into(SocketFilter& filter, std::span<char> buffer) {
    const auto load = filter.load({.log_level = 2, .log_buffer = buffer});
    REQUIRE_FALSE(load.has_value());
    const Error& error = load.error();
    INFO(error.message());
    CHECK(error.kind() == ErrorKind::VerifierRejected);
    CHECK(error.code() == std::errc::permission_denied);
    CHECK(error.verifier_log_truncated());
    CHECK_FALSE(error.verifier_log().empty());
    CHECK(error.verifier_log().size() < buffer.size());
    return error;
}

// Without a caller buffer sockfilter grows its own until the whole log fits, on every kernel.
void check_whole_log(SocketFilter& filter, std::size_t longer_than) {
    const auto whole = filter.load({.log_level = 2});
    REQUIRE_FALSE(whole.has_value());
    CHECK_FALSE(whole.error().verifier_log_truncated());
    CHECK(whole.error().verifier_log().size() > longer_than);
    CHECK(contains(whole.error().verifier_log(), "R2 !read_ok"));
}

}  // namespace

TEST_CASE("load with a small caller log buffer") {
    REQUIRE_FEATURE(socket_filter_programs);
    SocketFilter filter = created("small_log", long_rejected_program());
    std::array<char, 200> buffer{};
    const Error error = rejected_into(filter, buffer);
    INFO(error.message());
    // The log is the caller's buffer's text, NUL-terminated inside it.
    CHECK(std::string_view(buffer.data()) == error.verifier_log());
    if (sockfilter_test::kernel_lacks(sockfilter_test::feature::rotating_verifier_log).empty()) {
        // Linux 6.4+ keeps the end of the log, where the error is.
        CHECK(contains(error.verifier_log(), "R2 !read_ok"));
        CHECK(contains(error.message(), "truncated"));
    } else {
        // Before 6.4 the kernel keeps the start and has no log_true_size: the message says what to do.
        CHECK_FALSE(error.sizes_needed().log.has_value());
        CHECK(contains(error.message(), "need Linux 6.4"));
    }
    check_whole_log(filter, buffer.size());
}

TEST_CASE("load with a too small caller log buffer") {
    SocketFilter filter = created("tiny_log", filters::pass);
    std::array<char, 127> buffer{};
    const auto load = filter.load({.log_buffer = buffer});
    REQUIRE_FALSE(load.has_value());
    INFO(load.error().message());
    CHECK(load.error().kind() == ErrorKind::InvalidArgument);
    CHECK(load.error().code().value() == 0);
    CHECK(contains(load.error().message(), "128"));
    CHECK_FALSE(filter.is_loaded());

    std::array<char, 128> enough{};
    enough.fill('#');
    const auto loaded = filter.load({.log_buffer = enough});
    INFO((loaded ? std::string() : loaded.error().message()));
    CHECK(loaded.has_value());
    CHECK(filter.is_loaded());
    // The first load goes without a log: on success the caller's buffer is never handed to the kernel
    // (a load with a log would have written at least the "processed N insns" line into it).
    CHECK(std::string_view(enough.data(), enough.size()) == std::string(enough.size(), '#'));
}

TEST_CASE("load log level 2 is longer than level 1") {
    REQUIRE_FEATURE(socket_filter_programs);
    const auto instructions = long_rejected_program();
    SocketFilter filter = created("log_levels", instructions);
    const auto level1 = filter.load({.log_level = 1});
    const auto level2 = filter.load({.log_level = 2});
    REQUIRE_FALSE(level1.has_value());
    REQUIRE_FALSE(level2.has_value());
    INFO("level 1:\n" << level1.error().verifier_log() << "\nlevel 2:\n" << level2.error().verifier_log());
    CHECK_FALSE(level1.error().verifier_log().empty());
    CHECK(level2.error().verifier_log().size() > level1.error().verifier_log().size());
    CHECK(contains(level1.error().verifier_log(), "R2 !read_ok"));
    CHECK(contains(level2.error().verifier_log(), "R2 !read_ok"));
    // Level 2 shows every instruction, the first one included.
    CHECK(contains(level2.error().verifier_log(), "0: (b7) r3 = 0"));
}

TEST_CASE("load log grows past 64 KiB and comes back whole") {
    REQUIRE_FEATURE(socket_filter_programs);
    // 3,000 instructions before the uninitialised read: at level 2 the verifier prints a line for each, far
    // more than the 64 KiB sockfilter starts with, so the owned buffer has to grow (doubling on ENOSPC).
    constexpr int harmless = 3000;
    std::vector<Insn> instructions;
    for (int i = 0; i < harmless; ++i) instructions.push_back(mov64_imm(Reg::R3, i));
    instructions.push_back(mov64(Reg::R0, Reg::R2));
    instructions.push_back(exit());
    SocketFilter filter = created("big_log", instructions);
    const auto load = filter.load({.log_level = 2});
    REQUIRE_FALSE(load.has_value());
    const Error& error = load.error();
    const std::string_view log = error.verifier_log();
    INFO("log of " << log.size() << " bytes, ending:\n" << log.substr(log.size() > 400 ? log.size() - 400 : 0));
    CHECK(error.kind() == ErrorKind::VerifierRejected);
    CHECK(error.code() == std::errc::permission_denied);  // the first attempt's EACCES, not a retry's ENOSPC
    CHECK(log.size() > std::size_t{64} * 1024);
    CHECK_FALSE(error.verifier_log_truncated());
    // Complete: the verifier's first line (a rotated, cut log would have lost the start), the trace of the
    // first and of the last harmless instruction, the failing one and the closing statistics, in order.
    CHECK(log.starts_with("func#0 @0\n"));
    const auto first = log.find("\n0: (b7) r3 = 0 ");
    const auto last = log.find("\n" + std::to_string(harmless - 1) + ": (b7) r3 = " + std::to_string(harmless - 1) + " ");
    const auto failing = log.find("R2 !read_ok");
    const auto processed = log.rfind("processed ");
    REQUIRE(first != std::string_view::npos);
    REQUIRE(last != std::string_view::npos);
    REQUIRE(failing != std::string_view::npos);
    REQUIRE(processed != std::string_view::npos);
    CHECK(first < last);
    CHECK(last < failing);
    CHECK(failing < processed);
    CHECK(contains(log.substr(processed), "processed " + std::to_string(harmless + 1) + " insns"));
    CHECK_FALSE(contains(error.message(), "truncated"));
    CHECK_FALSE(filter.is_loaded());
}

TEST_CASE("load twice and reload after unload") {
    REQUIRE_FEATURE(object_ids);
    SocketFilter filter = created("reload", filters::pass);
    REQUIRE(filter.load().has_value());
    const auto first = filter.info();
    REQUIRE(first.has_value());

    const auto twice = filter.load();
    REQUIRE_FALSE(twice.has_value());
    INFO(twice.error().message());
    CHECK(twice.error().kind() == ErrorKind::AlreadyLoaded);
    CHECK(twice.error().code().value() == 0);
    CHECK(filter.is_loaded());
    CHECK(filter.info()->id() == first->id());  // the loaded program is kept

    REQUIRE(filter.unload().has_value());
    CHECK_FALSE(filter.is_loaded());
    const auto again = filter.load();
    INFO((again ? std::string() : again.error().message()));
    REQUIRE(again.has_value());
    const auto second = filter.info();
    REQUIRE(second.has_value());
    CHECK(second->id() != first->id());
    CHECK(second->tag() == first->tag());
}
