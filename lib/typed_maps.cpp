// The checks behind the typed map views.
#include "sockfilter/typed_maps.hpp"

#include "text.hpp"

namespace sockfilter::detail {

Result<void> check_map_view(const Map& map, bpf_map_type type, std::size_t key_size, std::size_t value_size,
                            const char* view) {
    if (map.map_type() != type) {
        return fail(ErrorKind::UnexpectedMapType, view, 0,
                    concat({"map \"", map.name(), "\" has type ", std::uint64_t{map.map_type()}, "; ", view,
                            " needs type ", std::uint64_t{type}, " (see enum bpf_map_type)"}));
    }
    if (map.key_size() != key_size || map.value_size() != value_size) {
        return fail(ErrorKind::InvalidArgument, view, 0,
                    concat({"map \"", map.name(), "\" has ", std::uint64_t{map.key_size()}, "-byte keys and ",
                            std::uint64_t{map.value_size()}, "-byte values; the view's types have ", key_size,
                            "-byte keys and ", value_size, "-byte values"}));
    }
    return {};
}

std::string per_cpu_count_message(std::size_t given, std::uint32_t cpus) {
    return concat({"got ", given, " values; the per-CPU map needs exactly one per possible CPU (", std::uint64_t{cpus}, ")"});
}

}  // namespace sockfilter::detail
