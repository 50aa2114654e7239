// tools/embed-bpf-object: the header it writes for test/bpf/port_filter.bpf.o holds the file's bytes, as the
// compiler sees them, and the embedded object parses like the file (no kernel needed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include "objects.hpp"
#include "port_filter_embedded.hpp"  // generated: sockfilter_test::embedded::port_filter()
#include "sockfilter/object.hpp"

using namespace sockfilter_test;

TEST_CASE("embed the header's bytes are the object file's") {
    std::ifstream file(object_path("port_filter"), std::ios::binary);
    REQUIRE(file.good());
    const std::vector<char> chars((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const std::span<const std::byte> from_file = std::as_bytes(std::span(chars));

    const std::span<const std::byte> embedded = embedded::port_filter();
    static_assert(sizeof embedded::port_filter_data == decltype(embedded::port_filter())::extent);
    CHECK(reinterpret_cast<std::uintptr_t>(embedded::port_filter_data) % 8 == 0);
    REQUIRE(embedded.size() == from_file.size());
    CHECK(std::equal(embedded.begin(), embedded.end(), from_file.begin()));
}

TEST_CASE("embed the embedded object parses like the file") {
    auto from_header = sockfilter::Object::from_bytes(embedded::port_filter(), "port_filter");
    INFO(message_of(from_header));
    REQUIRE(from_header.has_value());
    const sockfilter::Object from_file = opened_object("port_filter");
    REQUIRE(from_header->programs().size() == from_file.programs().size());
    CHECK(from_header->programs()[0].name == "filter_port");
    CHECK(from_header->programs()[0].instruction_count == from_file.programs()[0].instruction_count);
    CHECK(from_header->map_specs().size() == from_file.map_specs().size());
    CHECK(from_header->set_global("accept_port", std::uint16_t{7}));
}
