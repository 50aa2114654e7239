// Btf::parse: the header, then one walk over the type records (lengths, kinds, names), then every type
// reference checked against the type count.
#include <linux/btf.h>

#include <algorithm>
#include <charconv>

#include "btf.hpp"
#include "btf_bytes.hpp"
#include "text.hpp"

namespace sockfilter::detail::btf {

namespace {

constexpr std::size_t record_size = sizeof(btf_type);

/// `value` as "0x…" in lower-case hex.
std::string hex(std::uint32_t value) {
    char digits[8]{};
    const auto end = std::to_chars(digits, digits + sizeof digits, value, 16).ptr;
    return "0x" + std::string(digits, end);
}

/// Bytes of kind-specific data after a record of `kind` with `vlen` entries; nullopt for an unknown kind.
std::optional<std::uint64_t> trailing_size(std::uint32_t kind, std::uint32_t vlen) noexcept {
    switch (kind) {
    case BTF_KIND_INT: return 4;
    case BTF_KIND_ARRAY: return sizeof(btf_array);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return std::uint64_t{vlen} * sizeof(btf_member);
    case BTF_KIND_ENUM: return std::uint64_t{vlen} * sizeof(btf_enum);
    case BTF_KIND_FUNC_PROTO: return std::uint64_t{vlen} * sizeof(btf_param);
    case BTF_KIND_VAR: return sizeof(btf_var);
    case BTF_KIND_DATASEC: return std::uint64_t{vlen} * sizeof(btf_var_secinfo);
    case BTF_KIND_DECL_TAG: return sizeof(btf_decl_tag);
    case BTF_KIND_ENUM64: return std::uint64_t{vlen} * sizeof(btf_enum64);
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG: return 0;
    default: return std::nullopt;
    }
}

/// The stride of the trailing entries whose first u32 is a name offset (members, enumerators,
/// parameters), or 0 when the kind has no named entries.
std::size_t named_entry_stride(std::uint32_t kind) noexcept {
    switch (kind) {
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return sizeof(btf_member);
    case BTF_KIND_ENUM: return sizeof(btf_enum);
    case BTF_KIND_FUNC_PROTO: return sizeof(btf_param);
    case BTF_KIND_ENUM64: return sizeof(btf_enum64);
    default: return 0;
    }
}

/// Where, inside an entry of the trailing data, a type id sits (members +4, params +4, secinfos +0), and
/// the stride of the entries; stride 0 when the kind's entries hold no type ids.
struct EntryTypes {
    std::size_t stride = 0;
    std::size_t at = 0;
};

EntryTypes entry_types(std::uint32_t kind) noexcept {
    switch (kind) {
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return {sizeof(btf_member), offsetof(btf_member, type)};
    case BTF_KIND_FUNC_PROTO: return {sizeof(btf_param), offsetof(btf_param, type)};
    case BTF_KIND_DATASEC: return {sizeof(btf_var_secinfo), offsetof(btf_var_secinfo, type)};
    default: return {};
    }
}

/// True for kinds whose `size_or_type` field is a type id.
bool refers_by_type_field(std::uint32_t kind) noexcept {
    switch (kind) {
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FUNC_PROTO:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
    case BTF_KIND_TYPE_TAG: return true;
    default: return false;
    }
}

/// Empty when the string at `offset` lies inside `strings` and ends there; otherwise what is wrong.
std::string string_problem(std::span<const std::byte> strings, std::uint32_t offset) {
    if (offset >= strings.size())
        return concat({"name offset ", std::uint64_t{offset}, " is outside the string area of ",
                       std::uint64_t{strings.size()}, " bytes"});
    if (std::find(strings.begin() + offset, strings.end(), std::byte{0}) == strings.end())
        return concat({"name at offset ", std::uint64_t{offset}, " is not NUL-terminated"});
    return {};
}

/// "type 7 (STRUCT)": how errors name a record.
std::string type_label(std::size_t type_id, std::uint32_t kind) {
    return concat({"type ", std::uint64_t{type_id}, " (", kind_name(kind), ")"});
}

/// Checks the header and returns the body's type and string areas (relative to `bytes`).
Result<std::pair<std::span<const std::byte>, std::span<const std::byte>>> areas(std::span<const std::byte> bytes) {
    if (bytes.size() < sizeof(btf_header))
        return malformed(concat({"header truncated: ", std::uint64_t{bytes.size()}, " bytes, struct btf_header has ",
                                 std::uint64_t{sizeof(btf_header)}}));
    const std::uint16_t magic = load_u16(bytes, offsetof(btf_header, magic));
    if (magic == 0x9feb) return malformed("header: BTF of the other byte order is not supported");
    if (magic != BTF_MAGIC) return malformed(concat({"header: bad magic ", hex(magic), " (expected 0xeb9f)"}));
    const auto version = std::to_integer<std::uint32_t>(bytes[offsetof(btf_header, version)]);
    if (version != BTF_VERSION)
        return malformed(concat({"header: version ", std::uint64_t{version}, " (only 1 is known)"}));
    const auto flags = std::to_integer<std::uint32_t>(bytes[offsetof(btf_header, flags)]);
    if (flags != 0) return malformed(concat({"header: flags ", hex(flags), " (expected 0)"}));
    const std::uint32_t hdr_len = load_u32(bytes, offsetof(btf_header, hdr_len));
    if (hdr_len < sizeof(btf_header) || hdr_len > bytes.size())
        return malformed(concat({"header: hdr_len ", std::uint64_t{hdr_len}, " is not between ",
                                 std::uint64_t{sizeof(btf_header)}, " and the ", std::uint64_t{bytes.size()},
                                 " bytes of .BTF"}));
    const auto body = bytes.subspan(hdr_len);
    const std::uint64_t type_off = load_u32(bytes, offsetof(btf_header, type_off));
    const std::uint64_t type_len = load_u32(bytes, offsetof(btf_header, type_len));
    const std::uint64_t str_off = load_u32(bytes, offsetof(btf_header, str_off));
    const std::uint64_t str_len = load_u32(bytes, offsetof(btf_header, str_len));
    if (type_off + type_len > body.size())
        return malformed(concat({"type area (offset ", type_off, ", length ", type_len, ") is outside the ",
                                 std::uint64_t{body.size()}, " bytes after the header"}));
    if (str_off + str_len > body.size())
        return malformed(concat({"string area (offset ", str_off, ", length ", str_len, ") is outside the ",
                                 std::uint64_t{body.size()}, " bytes after the header"}));
    if (type_off % 4 != 0 || type_len % 4 != 0)
        return malformed(concat({"type area (offset ", type_off, ", length ", type_len, ") is not 4-byte aligned"}));
    if (type_len != 0 && type_off < str_off + str_len && str_off < type_off + type_len)
        return malformed("the type and string areas overlap");
    const auto strings = body.subspan(str_off, str_len);
    if (strings.empty() || strings.front() != std::byte{0})
        return malformed("string area does not begin with the empty string");
    return std::pair{body.subspan(type_off, type_len), strings};
}

}  // namespace

Result<Btf> Btf::parse(std::span<const std::byte> bytes) {
    auto found = areas(bytes);
    if (!found) return std::unexpected(std::move(found.error()));
    Btf btf;
    btf.bytes_ = bytes;
    btf.types_ = found->first;
    btf.strings_ = found->second;
    btf.offsets_.push_back(0);  // void

    // Lengths, kinds and names.
    const std::size_t types_size = btf.types_.size();
    for (std::size_t at = 0; at < types_size;) {
        const std::size_t id = btf.offsets_.size();
        if (id > BTF_MAX_TYPE) return malformed(concat({"more than ", std::uint64_t{BTF_MAX_TYPE}, " types"}));
        if (types_size - at < record_size)
            return malformed(concat({"type ", std::uint64_t{id}, ": record truncated (", std::uint64_t{types_size - at},
                                     " bytes left in the type area)"}));
        const Record rec{load_u32(btf.types_, at), load_u32(btf.types_, at + 4), load_u32(btf.types_, at + 8), at};
        const auto trailing = trailing_size(rec.kind(), rec.vlen());
        if (!trailing)
            return malformed(concat({"type ", std::uint64_t{id}, ": unknown kind ", std::uint64_t{rec.kind()}}));
        if (const auto problem = string_problem(btf.strings_, rec.name_off); !problem.empty())
            return malformed(concat({type_label(id, rec.kind()), ": ", problem}));
        const std::size_t left = types_size - at - record_size;
        if (*trailing > left)
            return malformed(concat({type_label(id, rec.kind()), ": vlen ", std::uint64_t{rec.vlen()}, " needs ",
                                     *trailing, " bytes after the record, ", std::uint64_t{left},
                                     " left in the type area"}));
        if (const std::size_t stride = named_entry_stride(rec.kind()); stride != 0) {
            for (std::uint32_t i = 0; i < rec.vlen(); ++i) {
                const std::uint32_t name_off = load_u32(btf.types_, at + record_size + i * stride);
                if (const auto problem = string_problem(btf.strings_, name_off); !problem.empty())
                    return malformed(concat({type_label(id, rec.kind()), " entry ", std::uint64_t{i}, ": ", problem}));
            }
        }
        btf.offsets_.push_back(static_cast<std::uint32_t>(at));
        at += record_size + static_cast<std::size_t>(*trailing);
    }

    // References: every type id below the count (0 is void).
    const std::uint64_t count = btf.offsets_.size();
    const auto check = [&](std::uint32_t id, const Record& rec, std::string_view what,
                           std::uint32_t target) -> Result<void> {
        if (target < count) return {};
        return malformed(concat({type_label(id, rec.kind()), ": ", what, " refers to type ", std::uint64_t{target},
                                 ", but there are only ", count, " types"}));
    };
    for (std::uint32_t id = 1; id < count; ++id) {
        const Record rec = btf.record(id);
        const std::size_t data = rec.offset + record_size;
        if (refers_by_type_field(rec.kind()))
            if (auto ok = check(id, rec, "its type", rec.size_or_type); !ok) return std::unexpected(std::move(ok.error()));
        if (rec.kind() == BTF_KIND_ARRAY) {
            if (auto ok = check(id, rec, "its element type", btf.word(data + offsetof(btf_array, type))); !ok)
                return std::unexpected(std::move(ok.error()));
            if (auto ok = check(id, rec, "its index type", btf.word(data + offsetof(btf_array, index_type))); !ok)
                return std::unexpected(std::move(ok.error()));
        }
        if (const EntryTypes entries = entry_types(rec.kind()); entries.stride != 0) {
            for (std::uint32_t i = 0; i < rec.vlen(); ++i) {
                const std::string what = concat({"entry ", std::uint64_t{i}});
                if (auto ok = check(id, rec, what, btf.word(data + i * entries.stride + entries.at)); !ok)
                    return std::unexpected(std::move(ok.error()));
            }
        }
    }
    return btf;
}

}  // namespace sockfilter::detail::btf
