// Conformance with libbpf: every program of every test object that libbpf 1.x can load has the same
// program tag (the kernel's hash of the relocated instructions) whether sockfilter or libbpf (through
// `bpftool prog loadall`) loaded it, and bpftool reads the maps sockfilter created.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bpffs.hpp"
#include "netns.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockfilter/object.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

// Objects libbpf 1.x can load. Left out: flow_count_legacy (libbpf 1.0 dropped the legacy "maps"
// section), verifier_reject (the verifier refuses it), pinned_maps* (libbpf pins them under
// /sys/fs/bpf, outside the test's private bpffs). bpftool gets "type socket" because libbpf does not
// guess a type for "socket/<name>" or "socket1" sections.
const std::vector<std::string> conforming_objects{"proto_count", "port_filter", "subprograms", "percpu_count",
                                                  "ring_records", "other_section", "callbacks"};

// The tag bpftool prints for the program pinned at `path` ("tag 0123456789abcdef").
std::string tag_shown_by_bpftool(const std::string& path) {
    const auto shown = output_of("bpftool prog show pinned " + path);
    INFO(shown.value_or("bpftool failed on " + path));
    REQUIRE(shown.has_value());
    const auto at = shown->find("tag ");
    REQUIRE(at != std::string::npos);
    return shown->substr(at + 4, 16);
}

}  // namespace

TEST_CASE("object program tags match libbpf") {
    REQUIRE_FEATURE(global_data);
    for (const auto& stem : conforming_objects) {
        INFO("object " << stem);
        const TempBpffs bpffs;
        const auto loaded_by_libbpf = output_of("bpftool prog loadall " + object_path(stem) + " " + (bpffs / "progs") +
                                                " type socket 2>&1");
        INFO(loaded_by_libbpf.value_or("bpftool prog loadall failed"));
        REQUIRE(loaded_by_libbpf.has_value());

        const Object object = loaded_object(stem);
        int compared = 0;
        for (const auto& program : object.programs()) {
            if (!program.is_socket_filter) continue;
            INFO("program " << program.name);
            const SocketFilter ours = loaded_program(object, program.name);
            CHECK(ours.info()->tag_hex() == tag_shown_by_bpftool(bpffs / ("progs/" + program.name)));
            ++compared;
        }
        CHECK(compared > 0);
    }
}

TEST_CASE("object maps are read by bpftool") {
    REQUIRE_FEATURE(global_data);
    for (const auto& stem : conforming_objects) {
        INFO("object " << stem);
        Object object = loaded_object(stem);
        for (const auto& spec : object.map_specs()) {
            INFO("map " << spec.name);
            auto map = object.map(spec.name);
            REQUIRE(map.has_value());
            const auto info = map->get().info();
            REQUIRE(info.has_value());
            const std::string id = std::to_string(info->id());
            const auto shown = output_of("bpftool map show id " + id);
            REQUIRE(shown.has_value());
            CHECK(shown->find(id + ": ") == 0);
            if (spec.type == BPF_MAP_TYPE_RINGBUF) continue;  // bpftool cannot dump a ring buffer
            const auto dumped = output_of("bpftool map dump id " + id);
            INFO(dumped.value_or("bpftool map dump failed"));
            CHECK(dumped.has_value());
        }
    }
    // The values too: port_filter's .data holds verdict_len = 0xffff, and bpftool shows its bytes.
    Object object = loaded_object("port_filter");
    const auto data = object.map(".data");
    REQUIRE(data.has_value());
    const auto dumped = output_of("bpftool map dump id " + std::to_string(data->get().info()->id()));
    REQUIRE(dumped.has_value());
    INFO(*dumped);
    CHECK((dumped->find("ff ff 00 00") != std::string::npos || dumped->find("65535") != std::string::npos));
}
