// Object error paths the kernel will not produce on demand, through the fake OS layer: BTF refused, a map
// create, write, freeze or pin failing midway through load() (nothing made by that load is left behind, and
// the object can be loaded again), fd duplication failing while taking programs and maps out, and the
// object file unreadable.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <linux/bpf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "fd_count.hpp"
#include "bpffs.hpp"
#include "fake_syscall.hpp"
#include "loaded.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockfilter/object.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }


// A test run frame for port_filter: Ethernet (pulled by the test run), a UDP header to `port`, 4 payload bytes.
std::string frame_with_udp_port(std::uint16_t port) {
    std::string frame(14 + 8 + 4, '\0');
    frame[14 + 2] = static_cast<char>(port >> 8);
    frame[14 + 3] = static_cast<char>(port & 0xff);
    return frame;
}

std::uint32_t run_on(const SocketFilter& filter, const std::string& frame) {
    const auto result = filter.test_run({.data_in = std::as_bytes(std::span(frame.data(), frame.size()))});
    INFO(message_of(result));
    REQUIRE(result.has_value());
    return result->return_value;
}

// Checks that `object` holds no map after a failed load(): each map named is NotLoaded.
void check_holds_no_maps(Object& object) {
    for (const auto& spec : object.map_specs()) {
        const auto map = object.map(spec.name);
        INFO(spec.name);
        REQUIRE_FALSE(map.has_value());
        CHECK(map.error().kind() == ErrorKind::NotLoaded);
    }
    const auto program = object.socket_filter(object.programs().front().name);
    REQUIRE_FALSE(program.has_value());
    CHECK(program.error().kind() == ErrorKind::NotLoaded);
}

std::uint32_t btf_id_of(const SocketFilter& filter) {
    const auto info = filter.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    return info->btf_id().value_or(0);
}

}  // namespace

TEST_CASE("object error path BTF refused falls back to no BTF") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    {
        // Refused twice: the first load and the retry with a log. The object loads without BTF.
        Object object = opened_object("port_filter");
        REQUIRE(object.set_global("accept_port", std::uint16_t{4242}));
        fake::fail_bpf(BPF_BTF_LOAD, EINVAL, 2);
        const auto load = object.load();
        INFO(message_of(load));
        REQUIRE(load.has_value());
        CHECK(fake::bpf_calls(BPF_BTF_LOAD) == 2);
        CHECK_FALSE(object.btf_loaded());
        const Error* refused = object.btf_error();
        REQUIRE(refused != nullptr);
        CHECK(refused->operation() == "BPF_BTF_LOAD");
        CHECK(refused->code() == std::errc::invalid_argument);

        // The programs load and run without BTF (no func/line info, no BTF id).
        const SocketFilter filter = loaded_program(object, "filter_port");
        CHECK(btf_id_of(filter) == 0);
        CHECK(run_on(filter, frame_with_udp_port(4242)) == 0xffffU);
        CHECK(run_on(filter, frame_with_udp_port(4243)) == 0U);
    }
    {
        // Refused only the first time: the retry with a log is accepted and used.
        fake::reset();
        Object object = opened_object("port_filter");
        fake::fail_bpf(BPF_BTF_LOAD, EINVAL, 1);
        const auto load = object.load();
        INFO(message_of(load));
        REQUIRE(load.has_value());
        CHECK(fake::bpf_calls(BPF_BTF_LOAD) == 2);
        CHECK(object.btf_loaded());
        CHECK(object.btf_error() == nullptr);
        const SocketFilter filter = loaded_program(object, "filter_port");
        CHECK(btf_id_of(filter) != 0);
    }
}

TEST_CASE("object error path a map create failing midway leaves no map") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    {
        // port_filter's maps are its global data sections, created without BTF types: one attempt each.
        Object object = opened_object("port_filter");
        REQUIRE(object.map_specs().size() == 3);
        const int fds_before = open_fd_count();
        fake::fail_bpf(BPF_MAP_CREATE, ENOMEM, 1, 1);
        const auto load = object.load();
        REQUIRE_FALSE(load.has_value());
        CHECK(load.error().operation() == "BPF_MAP_CREATE");
        CHECK(load.error().code() == std::errc::not_enough_memory);
        CHECK(fake::bpf_calls(BPF_MAP_CREATE) == 2);  // stopped at the failing map
        const std::string second = object.map_specs()[1].name;
        INFO(load.error().message());
        CHECK(contains(load.error().message(), second.substr(1)));  // ".data" is "port_fil.data" in the kernel
        CHECK(open_fd_count() == fds_before);  // the first map's and the BTF fd closed
        CHECK_FALSE(object.btf_loaded());
        check_holds_no_maps(object);

        // Loadable again.
        fake::reset();
        const auto again = object.load();
        INFO(message_of(again));
        REQUIRE(again.has_value());
        CHECK(object.btf_loaded());
        for (const auto& spec : object.map_specs()) CHECK(object.map(spec.name).has_value());
    }
    {
        // proto_count's maps carry BTF types: the second map fails typed and untyped; the first error is kept.
        fake::reset();
        Object object = opened_object("proto_count");
        REQUIRE(object.map_specs().size() == 2);
        const int fds_before = open_fd_count();
        fake::fail_bpf(BPF_MAP_CREATE, EPERM, 2, 1);
        const auto load = object.load();
        REQUIRE_FALSE(load.has_value());
        CHECK(load.error().code() == std::errc::operation_not_permitted);
        CHECK(fake::bpf_calls(BPF_MAP_CREATE) == 3);
        INFO(load.error().message());
        CHECK(contains(load.error().message(), object.map_specs()[1].name));
        CHECK(open_fd_count() == fds_before);
        check_holds_no_maps(object);

        fake::reset();
        const auto again = object.load();
        INFO(message_of(again));
        REQUIRE(again.has_value());
        const SocketFilter filter = loaded_program(object, "count_protocols");
        CHECK(btf_id_of(filter) != 0);
    }
}

TEST_CASE("object error path map BTF types refused are retried without") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    Object object = opened_object("proto_count");
    const auto map_count = static_cast<int>(object.map_specs().size());
    REQUIRE(map_count == 2);
    fake::fail_bpf(BPF_MAP_CREATE, EINVAL, 1);
    const auto load = object.load();
    INFO(message_of(load));
    REQUIRE(load.has_value());
    CHECK(object.btf_loaded());
    CHECK(fake::bpf_calls(BPF_MAP_CREATE) == map_count + 1);
    for (const auto& spec : object.map_specs()) CHECK(object.map(spec.name).has_value());
    const SocketFilter filter = loaded_program(object, "count_protocols");
    CHECK(filter.fd().has_value());
}

TEST_CASE("object error path global data write or freeze failing leaves no map") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    for (const int command : {BPF_MAP_UPDATE_ELEM, BPF_MAP_FREEZE}) {
        fake::reset();
        INFO("failing bpf command " << command);
        Object object = opened_object("port_filter");
        const int fds_before = open_fd_count();
        fake::fail_bpf(command, EFAULT, 1);
        const auto load = object.load();
        REQUIRE_FALSE(load.has_value());
        CHECK(load.error().operation() == (command == BPF_MAP_FREEZE ? "BPF_MAP_FREEZE" : "BPF_MAP_UPDATE_ELEM"));
        CHECK(load.error().code() == std::errc::bad_address);
        INFO(load.error().message());
        CHECK(contains(load.error().message(), command == BPF_MAP_FREEZE ? ".rodata" : object.map_specs()[0].name));
        CHECK(fake::bpf_calls(command) == 1);
        CHECK(open_fd_count() == fds_before);
        CHECK_FALSE(object.btf_loaded());
        check_holds_no_maps(object);

        fake::reset();
        const auto again = object.load();
        INFO(message_of(again));
        REQUIRE(again.has_value());
        CHECK(fake::bpf_calls(BPF_MAP_FREEZE) == 1);
    }
}

TEST_CASE("object error path pins made by a failed load are removed") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    const TempBpffs bpffs;
    const ObjectOptions options{.pin_directory = bpffs.path()};

    SECTION("the pin itself fails") {
        Object object = opened_object("pinned_maps");
        fake::fail_bpf(BPF_OBJ_PIN, EPERM, 1);
        const auto load = object.load(options);
        REQUIRE_FALSE(load.has_value());
        CHECK(load.error().operation() == "BPF_OBJ_PIN");
        CHECK(load.error().code() == std::errc::operation_not_permitted);
        INFO(load.error().message());
        CHECK(contains(load.error().message(), bpffs / "pinned_counts"));
        CHECK_FALSE(path_exists(bpffs / "pinned_counts"));
        check_holds_no_maps(object);

        fake::reset();
        REQUIRE(object.load(options));
        CHECK(path_exists(bpffs / "pinned_counts"));
    }

    SECTION("a later step fails after a pin was made") {
        Object object = opened_object("pinned_pair");
        REQUIRE(object.map_specs().size() == 2);
        REQUIRE(object.map_specs()[0].name == "pinned_first");
        REQUIRE(object.map_specs()[1].name == "pinned_second");
        const int fds_before = open_fd_count();

        // pinned_first is created and pinned, then pinned_second's pin fails.
        fake::fail_bpf(BPF_OBJ_PIN, EACCES, 1, 1);
        const auto pin = object.load(options);
        REQUIRE_FALSE(pin.has_value());
        CHECK(pin.error().operation() == "BPF_OBJ_PIN");
        CHECK(pin.error().code() == std::errc::permission_denied);
        CHECK(fake::bpf_calls(BPF_OBJ_PIN) == 2);
        CHECK_FALSE(path_exists(bpffs / "pinned_first"));  // made by this load, then removed
        CHECK_FALSE(path_exists(bpffs / "pinned_second"));
        CHECK(open_fd_count() == fds_before);
        check_holds_no_maps(object);

        // pinned_first is created and pinned, then pinned_second cannot be created (with BTF types or without).
        fake::reset();
        fake::fail_bpf(BPF_MAP_CREATE, ENOMEM, 2, 1);
        const auto create = object.load(options);
        REQUIRE_FALSE(create.has_value());
        CHECK(create.error().operation() == "BPF_MAP_CREATE");
        INFO(create.error().message());
        CHECK(contains(create.error().message(), "pinned_second"));
        CHECK(fake::bpf_calls(BPF_OBJ_PIN) == 1);
        CHECK_FALSE(path_exists(bpffs / "pinned_first"));
        CHECK(open_fd_count() == fds_before);
        check_holds_no_maps(object);

        fake::reset();
        const auto again = object.load(options);
        INFO(message_of(again));
        REQUIRE(again.has_value());
        for (const char* name : {"pinned_first", "pinned_second"}) {
            auto pinned = object.map(name);
            REQUIRE(pinned.has_value());
            CHECK(pinned->get().pinned_path() == bpffs / name);
            CHECK(path_exists(bpffs / name));
        }
    }

    SECTION("a pin reused from another load is left alone") {
        std::uint32_t first_id = 0;
        {
            Object first = loaded_object("pinned_pair", options);
            first_id = first.map("pinned_first")->get().info()->id();
            auto second = first.map("pinned_second");
            REQUIRE(second.has_value());
            REQUIRE(second->get().unpin());  // only pinned_first stays pinned
        }
        Object object = opened_object("pinned_pair");
        fake::reset();
        fake::fail_bpf(BPF_OBJ_PIN, EACCES, 1);  // pinned_first is reused; pinned_second is created, its pin fails
        const auto load = object.load(options);
        REQUIRE_FALSE(load.has_value());
        CHECK(load.error().operation() == "BPF_OBJ_PIN");
        CHECK(fake::bpf_calls(BPF_OBJ_PIN) == 1);
        CHECK_FALSE(path_exists(bpffs / "pinned_second"));
        REQUIRE(path_exists(bpffs / "pinned_first"));
        const auto still = Map::from_pin(bpffs / "pinned_first");
        INFO(message_of(still));
        REQUIRE(still.has_value());
        CHECK(still->info()->id() == first_id);
        check_holds_no_maps(object);
    }
}

TEST_CASE("object error path a failing dup when taking a program") {
    REQUIRE_FEATURE(global_data);
    fake::Scope scope;
    const Object object = loaded_object("proto_count");
    REQUIRE(object.btf_loaded());
    // Duplicates taken in turn: proto_bytes, proto_packets, then the BTF fd; each one failing in turn.
    for (int skip = 0; skip < 3; ++skip) {
        INFO("dups that succeed first: " << skip);
        const int fds_before = open_fd_count();
        fake::reset();
        fake::fail_dup(EMFILE, 1, skip);
        const auto filter = object.socket_filter("count_protocols");
        REQUIRE_FALSE(filter.has_value());
        CHECK(filter.error().operation() == "F_DUPFD_CLOEXEC");
        CHECK(filter.error().code() == std::errc::too_many_files_open);
        CHECK(fake::dup_calls() == skip + 1);
        CHECK(open_fd_count() == fds_before);  // the duplicates made before the failure are closed
    }
    fake::reset();
    const SocketFilter filter = loaded_program(object, "count_protocols");
    CHECK(fake::dup_calls() == 3);
    CHECK(btf_id_of(filter) != 0);
}

TEST_CASE("object error path a failing dup in take_map keeps the map") {
    REQUIRE_FEATURE(btf);
    fake::Scope scope;
    Object object = loaded_object("proto_count");
    const auto id = object.map("proto_bytes")->get().info()->id();
    const int fds_before = open_fd_count();
    fake::fail_dup(ENFILE, 1);
    const auto taken = object.take_map("proto_bytes");
    REQUIRE_FALSE(taken.has_value());
    CHECK(taken.error().operation() == "F_DUPFD_CLOEXEC");
    CHECK(taken.error().code() == std::errc::too_many_files_open_in_system);
    CHECK(open_fd_count() == fds_before);
    const auto still = object.map("proto_bytes");
    INFO(message_of(still));
    REQUIRE(still.has_value());
    CHECK(still->get().info()->id() == id);

    // The object is unchanged: the map can be taken later, and programs still find it.
    fake::reset();
    const auto later = object.take_map("proto_bytes");
    INFO(message_of(later));
    REQUIRE(later.has_value());
    CHECK(later->info()->id() == id);
    const auto gone = object.map("proto_bytes");
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().kind() == ErrorKind::NotFound);
    const SocketFilter filter = loaded_program(object, "count_protocols");
    CHECK(filter.fd().has_value());
}

TEST_CASE("object error path unreadable object files") {
    fake::Scope scope;
    const std::string directory = SOCKFILTER_TEST_BPF_DIR;
    const auto is_directory = Object::open(directory);
    REQUIRE_FALSE(is_directory.has_value());
    CHECK(is_directory.error().operation() == "object open");
    CHECK(is_directory.error().code() == std::errc::is_a_directory);
    INFO(is_directory.error().message());
    CHECK(contains(is_directory.error().message(), directory));

    const std::string missing = object_path("no_such_object");
    const auto absent = Object::open(missing);
    REQUIRE_FALSE(absent.has_value());
    CHECK(absent.error().operation() == "object open");
    CHECK(absent.error().kind() == ErrorKind::NotFound);
    CHECK(absent.error().code() == std::errc::no_such_file_or_directory);
    INFO(absent.error().message());
    CHECK(contains(absent.error().message(), missing));
    CHECK(fake::bpf_calls(BPF_BTF_LOAD) == 0);
}
