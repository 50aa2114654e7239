// Reading and parsing /proc/self/fdinfo for BPF object fds.
#include "fdinfo.hpp"

#include <charconv>
#include <cstring>

#include "sockfilter/owned_fd.hpp"
#include "syscall.hpp"

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
    const int opened = os::open_read_only(path);
    if (opened < 0) return std::unexpected(Error::from_errno("fdinfo", -opened, "opening /proc/self/fdinfo (is /proc mounted?)"));
    const OwnedFd file(opened);
    char text[2048];
    std::size_t size = 0;
    while (size < sizeof text) {
        const long got = os::read(file.get(), text + size, sizeof text - size);
        if (got < 0) return std::unexpected(Error::from_errno("fdinfo", static_cast<int>(-got), "reading /proc/self/fdinfo"));
        if (got == 0) break;
        size += static_cast<std::size_t>(got);
    }
    return parse_fdinfo(std::string_view(text, size));
}

}  // namespace sockfilter::detail
