// Reading and parsing /proc/self/fdinfo for BPF object fds.
#include "fdinfo.hpp"

#include <charconv>
#include <cstring>

#include "small_file.hpp"

namespace sockfilter::detail {

namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    return value;
}

std::optional<bool> parse_flag(std::string_view text) noexcept {
    const auto number = parse_number<std::uint32_t>(text);
    if (!number) return std::nullopt;
    return *number != 0;
}

}  // namespace

FdInfo parse_fdinfo(std::string_view text) noexcept {
    FdInfo info;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view key = line.substr(0, colon);
        const std::string_view value = line.substr(colon + 1);
        if (key == "prog_type") info.prog_type = parse_number<std::uint32_t>(value);
        else if (key == "map_type") info.map_type = parse_number<std::uint32_t>(value);
        else if (key == "memlock") info.memlock = parse_number<std::uint64_t>(value);
        else if (key == "frozen") info.frozen = parse_flag(value);
        else if (key == "link_type") info.link = true;
    }
    return info;
}

Result<FdInfo> read_fdinfo(int fd) {
    char path[48] = "/proc/self/fdinfo/";
    const std::size_t prefix = std::strlen(path);
    const auto [end, ec] = std::to_chars(path + prefix, path + sizeof path - 1, fd);
    if (ec != std::errc{}) return fail(ErrorKind::InvalidArgument, "fdinfo", 0, "fd out of range");
    *end = '\0';
    char text[2048];
    const auto size = read_small_file(path, text, "fdinfo", "/proc/self/fdinfo (is /proc mounted?)");
    if (!size) return std::unexpected(size.error());
    return parse_fdinfo(std::string_view(text, *size));
}

}  // namespace sockfilter::detail
