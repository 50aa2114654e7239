// Test support: the BPF objects compiled from test/bpf/ at build time, opened and loaded with REQUIREs.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "loaded.hpp"
#include "sockfilter/object.hpp"

namespace sockfilter_test {

/// The path of test/bpf/<stem>.bpf.c's compiled object in the build directory.
inline std::string object_path(std::string_view stem) {
    return std::string(SOCKFILTER_TEST_BPF_DIR) + "/" + std::string(stem) + ".bpf.o";
}

/// Object::open of a test object; REQUIREs success.
inline sockfilter::Object opened_object(std::string_view stem) {
    auto object = sockfilter::Object::open(object_path(stem));
    INFO(message_of(object));
    REQUIRE(object.has_value());
    return std::move(*object);
}

/// opened_object, then load(options); REQUIREs both.
inline sockfilter::Object loaded_object(std::string_view stem, const sockfilter::ObjectOptions& options = {}) {
    sockfilter::Object object = opened_object(stem);
    const auto load = object.load(options);
    INFO(message_of(load));
    REQUIRE(load.has_value());
    return object;
}

/// The object's program `name` taken out and loaded; REQUIREs both, with the verifier log on failure.
template <typename Filter = sockfilter::SocketFilter>
Filter loaded_program(const sockfilter::Object& object, std::string_view name) {
    auto filter = [&] {
        if constexpr (std::is_same_v<Filter, sockfilter::SocketFilter>) {
            return object.socket_filter(name);
        } else {
            return object.reuseport_socket_filter(name);
        }
    }();
    INFO(message_of(filter));
    REQUIRE(filter.has_value());
    const auto load = filter->load();
    INFO(message_of(load));
    REQUIRE(load.has_value());
    return std::move(*filter);
}

/// The map `name` of a loaded object, moved out; REQUIREs success.
inline sockfilter::Map taken_map(sockfilter::Object& object, std::string_view name) {
    auto map = object.take_map(name);
    INFO(message_of(map));
    REQUIRE(map.has_value());
    return std::move(*map);
}

}  // namespace sockfilter_test
