// Pinning on a private bpffs: pin, from_pin (with its type check), unpin, and every way a pin can fail.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "fd_count.hpp"
#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool exists(const std::string& path) {
    struct stat st{};
    return lstat(path.c_str(), &st) == 0;
}


// The number after "key": in a flat JSON object printed by bpftool.
std::optional<std::uint64_t> json_number(const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\":");
    if (at == std::string::npos) return std::nullopt;
    std::size_t pos = at + key.size() + 3;
    while (pos < json.size() && json[pos] == ' ') ++pos;
    std::uint64_t value = 0;
    bool any = false;
    for (; pos < json.size() && json[pos] >= '0' && json[pos] <= '9'; ++pos, any = true) {
        value = value * 10 + static_cast<std::uint64_t>(json[pos] - '0');
    }
    if (!any) return std::nullopt;
    return value;
}

bool is_loaded_id(std::uint32_t id) {
    const auto programs = loaded_programs();
    INFO((programs ? std::string() : programs.error().message()));
    REQUIRE(programs.has_value());
    for (const auto& program : *programs) {
        if (program.id() == id) return true;
    }
    return false;
}

// Sockets drop their filter's reference after an RCU grace period: poll for a while.
bool id_disappears(std::uint32_t id) {
    for (int attempt = 0; attempt < 300; ++attempt) {
        if (!is_loaded_id(id)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("pin from_pin and unpin lifecycle") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string path = bpffs / "trim2";
    SocketFilter original = loaded("pin_trim2", filters::trim_tail<2>);
    const auto original_info = original.info();
    REQUIRE(original_info.has_value());
    const std::uint32_t id = original_info->id();
    REQUIRE(id > 0);

    CHECK_FALSE(original.pinned_path().has_value());
    const auto pinned = original.pin(path);
    INFO((pinned ? std::string() : pinned.error().message()));
    REQUIRE(pinned.has_value());
    CHECK(original.pinned_path() == std::optional<std::string_view>(path));
    CHECK(exists(path));

    {
        auto opened = SocketFilter::from_pin(path);
        INFO((opened ? std::string() : opened.error().message()));
        REQUIRE(opened.has_value());
        CHECK(opened->is_loaded());
        CHECK(opened->name() == "pin_trim2");
        CHECK(opened->instructions().empty());
        CHECK_FALSE(opened->pinned_path().has_value());  // the pin is not its own
        const auto opened_info = opened->info();
        REQUIRE(opened_info.has_value());
        CHECK(opened_info->id() == id);
        CHECK(opened_info->program_type() == BPF_PROG_TYPE_SOCKET_FILTER);

        auto pair = unix_dgram_pair();
        REQUIRE(opened->attach(pair.receiver.get()).has_value());
        REQUIRE(send(pair.sender.get(), "filtered", 8, 0) == 8);
        CHECK(receive(pair.receiver.get()) == std::optional<std::string>("filter"));

        // unpin() on an object that did not make the pin touches nothing.
        const auto foreign = opened->unpin();
        REQUIRE_FALSE(foreign.has_value());
        CHECK(foreign.error().kind() == ErrorKind::NotFound);
        CHECK(exists(path));
    }  // the opened fd and the socket pair are closed here

    REQUIRE(original.unload().has_value());
    CHECK(original.pinned_path() == std::optional<std::string_view>(path));  // unload keeps the pin
    // Only the pin refers to the program now (the socket's reference goes after an RCU grace period, but
    // the pin keeps it listed either way).
    CHECK(is_loaded_id(id));
    const auto via_pin = ProgramInfo::from_pin(path);
    REQUIRE(via_pin.has_value());
    CHECK(via_pin->id() == id);

    const auto unpinned = original.unpin();
    INFO((unpinned ? std::string() : unpinned.error().message()));
    REQUIRE(unpinned.has_value());
    CHECK_FALSE(exists(path));
    CHECK_FALSE(original.pinned_path().has_value());
    CHECK(id_disappears(id));

    const auto twice = original.unpin();
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("pin twice from one object") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    SocketFilter filter = loaded("pin_twice", filters::pass);
    REQUIRE(filter.pin(bpffs / "first").has_value());
    const auto second = filter.pin(bpffs / "second");
    INFO((second ? std::string() : second.error().message()));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().kind() == ErrorKind::AlreadyExists);
    CHECK_FALSE(exists(bpffs / "second"));
    CHECK(filter.pinned_path() == std::optional<std::string_view>(bpffs / "first"));
    REQUIRE(filter.unpin().has_value());
    CHECK_FALSE(exists(bpffs / "first"));
}

TEST_CASE("pin before load") {
    auto filter = SocketFilter::create("unloaded", filters::pass);
    REQUIRE(filter.has_value());
    TempDir dir;
    const auto pinned = filter->pin(dir / "p");
    REQUIRE_FALSE(pinned.has_value());
    CHECK(pinned.error().kind() == ErrorKind::NotLoaded);
    CHECK_FALSE(filter->pinned_path().has_value());
}

TEST_CASE("pin outside bpffs") {
    REQUIRE_FEATURE(pins);
    TempDir dir;
    SocketFilter filter = loaded("pin_nobpffs", filters::pass);
    const auto pinned = filter.pin(dir / "p");
    REQUIRE_FALSE(pinned.has_value());
    const std::string message = pinned.error().message();
    INFO(message);
    CHECK(pinned.error().kind() == ErrorKind::PermissionDenied);
    CHECK(pinned.error().code() == std::errc::operation_not_permitted);
    CHECK(pinned.error().operation() == "BPF_OBJ_PIN");
    CHECK((contains(message, "bpffs") || contains(message, "BPF filesystem")));
    CHECK(contains(message, "mount -t bpf"));
    CHECK(contains(message, dir / "p"));
    CHECK_FALSE(filter.pinned_path().has_value());
    CHECK_FALSE(exists(dir / "p"));
    const auto unpinned = filter.unpin();
    REQUIRE_FALSE(unpinned.has_value());
    CHECK(unpinned.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("pin on an existing path") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string path = bpffs / "taken";
    SocketFilter first = loaded("pin_first", filters::pass);
    SocketFilter second = loaded("pin_second", filters::drop_all);
    REQUIRE(first.pin(path).has_value());
    const auto first_info = first.info();
    REQUIRE(first_info.has_value());
    const auto first_id = first_info->id();

    const auto pinned = second.pin(path);
    REQUIRE_FALSE(pinned.has_value());
    INFO(pinned.error().message());
    CHECK(pinned.error().kind() == ErrorKind::AlreadyExists);
    CHECK(pinned.error().code() == std::errc::file_exists);
    CHECK_FALSE(second.pinned_path().has_value());

    // The failed pin recorded nothing, so unpin() must not remove the first program's pin.
    const auto unpinned = second.unpin();
    REQUIRE_FALSE(unpinned.has_value());
    CHECK(unpinned.error().kind() == ErrorKind::NotFound);
    CHECK(exists(path));
    const auto still = ProgramInfo::from_pin(path);
    REQUIRE(still.has_value());
    CHECK(still->id() == first_id);

    // A directory is an existing path too.
    REQUIRE(mkdir((bpffs / "dir").c_str(), 0700) == 0);
    const auto on_dir = second.pin(bpffs / "dir");
    REQUIRE_FALSE(on_dir.has_value());
    CHECK(on_dir.error().kind() == ErrorKind::AlreadyExists);
    CHECK(second.unpin().error().kind() == ErrorKind::NotFound);
    CHECK(exists(bpffs / "dir"));

    REQUIRE(first.unpin().has_value());
    CHECK_FALSE(exists(path));
}

TEST_CASE("pin with a missing parent") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    SocketFilter filter = loaded("pin_noparent", filters::pass);
    const auto pinned = filter.pin(bpffs / "missing/p");
    REQUIRE_FALSE(pinned.has_value());
    INFO(pinned.error().message());
    CHECK(pinned.error().kind() == ErrorKind::NotFound);
    CHECK(pinned.error().code() == std::errc::no_such_file_or_directory);
    CHECK_FALSE(filter.pinned_path().has_value());
    CHECK(filter.unpin().error().kind() == ErrorKind::NotFound);
}

TEST_CASE("pin path with a NUL byte") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    SocketFilter filter = loaded("pin_nul", filters::pass);
    const std::string with_nul = bpffs / std::string("a\0b", 3);
    REQUIRE(with_nul.size() == bpffs.path().size() + 4);
    const auto pinned = filter.pin(std::string_view(with_nul));
    REQUIRE_FALSE(pinned.has_value());
    INFO(pinned.error().message());
    CHECK(pinned.error().kind() == ErrorKind::InvalidArgument);
    CHECK(pinned.error().code().value() == 0);  // refused before any syscall
    CHECK(contains(pinned.error().message(), "NUL"));
    CHECK_FALSE(exists(bpffs / "a"));  // not pinned at the part before the NUL
    CHECK_FALSE(filter.pinned_path().has_value());
    CHECK(filter.unpin().error().kind() == ErrorKind::NotFound);

    const auto empty = filter.pin("");
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().kind() == ErrorKind::InvalidArgument);

    const auto opened = SocketFilter::from_pin(std::string_view(with_nul));
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().kind() == ErrorKind::InvalidArgument);
}

TEST_CASE("from_pin on a map") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    const std::string path = bpffs / "map";
    const auto created = output_of("bpftool map create " + path + " type array key 4 value 4 entries 1 name m 2>&1");
    INFO(created.value_or("bpftool map create failed"));
    REQUIRE(created.has_value());
    REQUIRE(exists(path));

    const int fds_before = open_fd_count();
    const auto opened = SocketFilter::from_pin(path);
    const int fds_after = open_fd_count();
    REQUIRE_FALSE(opened.has_value());
    INFO(opened.error().message());
    CHECK(opened.error().kind() == ErrorKind::UnexpectedProgramType);
    CHECK(contains(opened.error().message(), "map"));
    CHECK(fds_after == fds_before);  // the map's fd was closed

    const auto info = ProgramInfo::from_pin(path);
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().kind() == ErrorKind::UnexpectedProgramType);
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("from_pin on another program type") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string path = bpffs / "cgroup_skb";
    using namespace sockfilter::insn;
    constexpr auto allow = program(mov64_imm(Reg::R0, 1), exit());
    {
        auto cgroup = sys::prog_load({.program_type = BPF_PROG_TYPE_CGROUP_SKB, .insns = allow, .name = "cg_allow"});
        INFO((cgroup ? std::string() : cgroup.error().message()));
        REQUIRE(cgroup.has_value());
        const auto buffer = sys::PathBuffer::from(path);
        REQUIRE(buffer.has_value());
        REQUIRE(sys::obj_pin(cgroup->get(), buffer->ref()).has_value());
    }
    const int fds_before = open_fd_count();
    const auto opened = SocketFilter::from_pin(path);
    CHECK(open_fd_count() == fds_before);
    REQUIRE_FALSE(opened.has_value());
    INFO(opened.error().message());
    CHECK(opened.error().kind() == ErrorKind::UnexpectedProgramType);

    // ProgramInfo::from_pin accepts any program type.
    const auto info = ProgramInfo::from_pin(path);
    INFO((info ? std::string() : info.error().message()));
    REQUIRE(info.has_value());
    CHECK(info->program_type() == BPF_PROG_TYPE_CGROUP_SKB);
    CHECK(info->name() == std::optional<std::string_view>("cg_allow"));
}

TEST_CASE("from_pin on a missing path") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    const auto opened = SocketFilter::from_pin(bpffs / "nothing");
    REQUIRE_FALSE(opened.has_value());
    INFO(opened.error().message());
    CHECK(opened.error().kind() == ErrorKind::NotFound);
    CHECK(opened.error().code() == std::errc::no_such_file_or_directory);
    CHECK(contains(opened.error().message(), "nothing is pinned"));

    const auto info = ProgramInfo::from_pin(bpffs / "nothing");
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().kind() == ErrorKind::NotFound);
}

TEST_CASE("bpftool agrees with the pin") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    const std::string path = bpffs / "shown";
    SocketFilter filter = loaded("pin_bpftool", filters::drop_all);
    REQUIRE(filter.pin(path).has_value());
    const auto info = filter.info();
    REQUIRE(info.has_value());

    const auto json = output_of("bpftool prog show pinned " + path + " -j");
    INFO(json.value_or("bpftool failed"));
    REQUIRE(json.has_value());
    CHECK(json_number(*json, "id") == std::optional<std::uint64_t>(info->id()));
    CHECK(contains(*json, "\"tag\":\"" + info->tag_hex() + "\""));
    CHECK(contains(*json, "\"name\":\"pin_bpftool\""));

    const auto from_pin = ProgramInfo::from_pin(path);
    REQUIRE(from_pin.has_value());
    CHECK(from_pin->id() == info->id());
    CHECK(from_pin->tag() == info->tag());
    CHECK(from_pin->program_type() == BPF_PROG_TYPE_SOCKET_FILTER);
    CHECK(from_pin->name() == std::optional<std::string_view>("pin_bpftool"));
    REQUIRE(filter.unpin().has_value());
}
