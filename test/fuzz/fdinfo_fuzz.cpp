// libFuzzer target: parse_fdinfo (lib/fdinfo.hpp) on arbitrary text (the kernel's /proc/self/fdinfo/N
// of a BPF fd, or anything else a hostile /proc could hold). It never fails; it is deterministic, and a
// field it reports comes from a line naming it.
#include <string_view>

#include "fdinfo.hpp"
#include "fuzz_check.hpp"

using namespace sockfilter::detail;
using sockfilter_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const FdInfo info = parse_fdinfo(text);
    const FdInfo again = parse_fdinfo(text);
    check(info.prog_type == again.prog_type && info.map_type == again.map_type && info.memlock == again.memlock &&
              info.frozen == again.frozen && info.link == again.link,
          "parse_fdinfo is deterministic");
    const auto names = [&](std::string_view key) { return text.find(key) != std::string_view::npos; };
    check(!info.prog_type || names("prog_type:"), "prog_type comes from a prog_type line");
    check(!info.map_type || names("map_type:"), "map_type comes from a map_type line");
    check(!info.memlock || names("memlock:"), "memlock comes from a memlock line");
    check(!info.frozen || names("frozen:"), "frozen comes from a frozen line");
    check(!info.link || names("link_type:"), "link comes from a link_type line");
    return 0;
}
