// Btf::map_definition: decoding a BTF-defined map (`struct { __uint(…); __type(…); } name SEC(".maps")`).
#include <linux/btf.h>

#include <array>

#include "btf.hpp"
#include "btf_bytes.hpp"
#include "text.hpp"

namespace sockfilter::detail::btf {

namespace {

/// The members written as `__uint(name, value)` (`int (*name)[value]`), or as libbpf's newer
/// `__ulong(name, value)` (a pointer to an enum whose one enumerator is the value).
enum class Field : std::uint8_t { Type, KeySize, ValueSize, MaxEntries, MapFlags, NumaNode, Pinning, MapExtra };

constexpr std::array<std::pair<std::string_view, Field>, 8> number_fields{{
    {"type", Field::Type},
    {"key_size", Field::KeySize},
    {"value_size", Field::ValueSize},
    {"max_entries", Field::MaxEntries},
    {"map_flags", Field::MapFlags},
    {"numa_node", Field::NumaNode},
    {"pinning", Field::Pinning},
    {"map_extra", Field::MapExtra},
}};

/// The field member `name` sets, or nullopt when it is not a number field.
std::optional<Field> number_field(std::string_view name) noexcept {
    for (const auto& [field_name, field] : number_fields)
        if (field_name == name) return field;
    return std::nullopt;
}

/// Stores `value` into the field; false when it does not fit a 32-bit field.
bool store(MapDefinition& map, Field field, std::uint64_t value) noexcept {
    if (field == Field::MapExtra) {
        map.map_extra = value;
        return true;
    }
    if (value > UINT32_MAX) return false;
    const auto narrow = static_cast<std::uint32_t>(value);
    switch (field) {
    case Field::Type: map.type = narrow; break;
    case Field::KeySize: map.key_size = narrow; break;
    case Field::ValueSize: map.value_size = narrow; break;
    case Field::MaxEntries: map.max_entries = narrow; break;
    case Field::MapFlags: map.map_flags = narrow; break;
    case Field::NumaNode: map.numa_node = narrow; break;
    case Field::Pinning: map.pinning = narrow; break;
    case Field::MapExtra: break;
    }
    return true;
}

/// Merges a size written as `__uint(key_size, …)` with the size of `__type(key, …)`: they must agree.
Result<void> merge_size(std::string_view map_name, std::string_view what, std::optional<std::uint32_t>& written,
                        std::optional<std::uint32_t> from_type) {
    if (!from_type) return {};
    if (written && *written != *from_type)
        return malformed(concat({"map \"", map_name, "\": ", what, "_size ", std::uint64_t{*written}, " but __type(",
                                 what, ") is ", std::uint64_t{*from_type}, " bytes"}));
    written = from_type;
    return {};
}

}  // namespace

Result<MapDefinition> Btf::map_definition(std::string_view map_name, std::uint32_t type_id) const {
    const auto bad = [&](std::string_view member, const std::string& what) {
        return malformed(concat({"map \"", map_name, "\": member \"", member, "\" ", what}));
    };
    if (type_id == 0 || type_id >= type_count())
        return malformed(concat({"map \"", map_name, "\": type ", std::uint64_t{type_id}, " does not exist"}));
    const auto struct_id = resolved(type_id);
    if (!struct_id) return std::unexpected(struct_id.error());
    if (*struct_id == 0 || record(*struct_id).kind() != BTF_KIND_STRUCT)
        return malformed(concat({"map \"", map_name, "\": type ", std::uint64_t{type_id}, " is not a STRUCT"}));

    MapDefinition map;
    std::optional<std::uint32_t> key_type_size;
    std::optional<std::uint32_t> value_type_size;
    const Record definition = record(*struct_id);
    for (std::uint32_t i = 0; i < definition.vlen(); ++i) {
        const std::size_t at = definition.offset + sizeof(btf_type) + i * sizeof(btf_member);
        const std::string_view member = name(word(at + offsetof(btf_member, name_off)));
        if (member == "values")
            return fail(ErrorKind::NotSupported, "BTF", 0,
                        concat({"map \"", map_name, "\": initial `values` (map-in-map, program array) are not supported"}));
        const auto field = number_field(member);
        if (!field && member != "key" && member != "value")
            return malformed(concat({"map \"", map_name, "\": unknown member \"", member, "\""}));

        const auto pointer = resolved(word(at + offsetof(btf_member, type)));
        if (!pointer) return std::unexpected(pointer.error());
        if (*pointer == 0 || record(*pointer).kind() != BTF_KIND_PTR)
            return bad(member, "is not a pointer (written without __uint, __ulong or __type?)");
        const std::uint32_t target = record(*pointer).size_or_type;

        if (!field) {  // __type(key, T) or __type(value, T)
            const auto size = type_size(target);
            if (!size) return bad(member, concat({"points to a type without a size: ", size.error().detail()}));
            (member == "key" ? map.key_type_id : map.value_type_id) = target;
            (member == "key" ? key_type_size : value_type_size) = *size;
            continue;
        }
        const auto pointee = resolved(target);
        if (!pointee) return std::unexpected(pointee.error());
        const Record rec = *pointee == 0 ? Record{} : record(*pointee);
        const std::size_t data = rec.offset + sizeof(btf_type);
        std::uint64_t value = 0;
        if (*pointee != 0 && rec.kind() == BTF_KIND_ARRAY) {
            value = word(data + offsetof(btf_array, nelems));
        } else if (*pointee != 0 && rec.kind() == BTF_KIND_ENUM && rec.vlen() == 1) {
            value = word(data + offsetof(btf_enum, val));
        } else if (*pointee != 0 && rec.kind() == BTF_KIND_ENUM64 && rec.vlen() == 1) {
            value = word(data + offsetof(btf_enum64, val_lo32)) |
                    std::uint64_t{word(data + offsetof(btf_enum64, val_hi32))} << 32;
        } else {
            return bad(member, "does not point to an array (__uint) or a one-value enum (__ulong)");
        }
        if (!store(map, *field, value)) return bad(member, concat({"is ", value, ", more than 32 bits"}));
    }
    if (auto ok = merge_size(map_name, "key", map.key_size, key_type_size); !ok) return std::unexpected(ok.error());
    if (auto ok = merge_size(map_name, "value", map.value_size, value_type_size); !ok) return std::unexpected(ok.error());
    return map;
}

}  // namespace sockfilter::detail::btf
