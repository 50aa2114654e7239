// Test support: creating and loading programs, failing the test case with the library's message when
// either step fails, and the message of a Result for INFO.
#pragma once

#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/stats.hpp"

namespace sockfilter_test {

/// The error's message, or "succeeded": for INFO before checking a result.
template <typename T>
std::string message_of(const sockfilter::Result<T>& result) {
    return result ? std::string("succeeded") : result.error().message();
}

/// Program::create (SocketFilter by default, or ReusePortSocketFilter), not loaded; REQUIREs success.
template <typename Filter = sockfilter::SocketFilter>
Filter created(std::string_view name, std::span<const sockfilter::Insn> instructions, std::string_view license = "GPL") {
    auto filter = Filter::create(name, instructions, license);
    INFO(message_of(filter));
    REQUIRE(filter.has_value());
    return std::move(*filter);
}

/// created(), then load(); REQUIREs both, with the library's message (and verifier log) on failure.
template <typename Filter = sockfilter::SocketFilter>
Filter loaded(std::string_view name, std::span<const sockfilter::Insn> instructions, std::string_view license = "GPL") {
    Filter filter = created<Filter>(name, instructions, license);
    const auto load = filter.load();
    INFO(message_of(load));
    REQUIRE(load.has_value());
    return filter;
}

/// Map::create(spec); REQUIREs success, with the library's message on failure.
inline sockfilter::Map created_map(const sockfilter::MapSpec& spec) {
    auto map = sockfilter::Map::create(spec);
    INFO(message_of(map));
    REQUIRE(map.has_value());
    return std::move(*map);
}

/// A typed view (Array<V>, HashMap<K, V>, …) over `map`; REQUIREs that the map fits it.
template <typename View>
View view_of(sockfilter::Map map) {
    auto view = View::from(std::move(map));
    INFO(message_of(view));
    REQUIRE(view.has_value());
    return std::move(*view);
}

/// enable_stats(); REQUIREs success (run counts are then kept while the guard lives).
inline sockfilter::StatsGuard stats_enabled() {
    auto stats = sockfilter::enable_stats();
    INFO(message_of(stats));
    REQUIRE(stats.has_value());
    return std::move(*stats);
}

}  // namespace sockfilter_test
