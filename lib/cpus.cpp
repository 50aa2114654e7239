// Parsing kernel CPU lists and counting the possible CPUs.
#include "sockfilter/cpus.hpp"

#include <charconv>
#include <optional>
#include <string>

#include "small_file.hpp"
#include "text.hpp"

namespace sockfilter {

namespace {

constexpr std::uint32_t cpu_limit = 65536;

std::unexpected<Error> malformed(std::string_view text, std::string_view why) {
    return fail(ErrorKind::InvalidArgument, "CPU list", 0, detail::concat({"\"", text, "\" ", why}));
}

// A CPU number taking all of `text`, below cpu_limit.
std::optional<std::uint32_t> cpu_number(std::string_view text) noexcept {
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || value >= cpu_limit) return std::nullopt;
    return value;
}

}  // namespace

Result<std::vector<std::uint32_t>> parse_cpu_list(std::string_view text) {
    std::string_view rest = text;
    if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
    if (rest.empty()) return malformed(text, "names no CPU");
    std::vector<std::uint32_t> cpus;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const auto dash = item.find('-');
        const auto first = cpu_number(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : cpu_number(item.substr(dash + 1));
        if (!first || !last) {
            return malformed(text, detail::concat({"has \"", item, "\" where a CPU number (below 65536) or a range a-b belongs"}));
        }
        if (*last < *first) return malformed(text, detail::concat({"has the descending range \"", item, "\""}));
        if (!cpus.empty() && *first <= cpus.back()) {
            return malformed(text, detail::concat({"is not in increasing order at \"", item, "\""}));
        }
        for (std::uint32_t cpu = *first; cpu <= *last; ++cpu) cpus.push_back(cpu);
        if (comma == std::string_view::npos) return cpus;
        rest.remove_prefix(comma + 1);
    }
}

Result<std::uint32_t> possible_cpu_count() {
    char text[4096];
    const auto size = detail::read_small_file("/sys/devices/system/cpu/possible", text, "possible CPUs",
                                              "/sys/devices/system/cpu/possible");
    if (!size) return std::unexpected(size.error());
    if (*size == sizeof text) return malformed("/sys/devices/system/cpu/possible", "is longer than 4 KiB");
    const auto cpus = parse_cpu_list(std::string_view(text, *size));
    if (!cpus) return std::unexpected(cpus.error());
    return static_cast<std::uint32_t>(cpus->size());
}

}  // namespace sockfilter
