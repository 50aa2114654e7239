// Btf lookups: records by id, names, modifier chains, type sizes and DATASEC variables.
#include "btf.hpp"

#include <linux/btf.h>

#include <algorithm>
#include <array>

#include "btf_bytes.hpp"
#include "text.hpp"

namespace sockfilter::detail::btf {

namespace {

/// How many typedefs, modifiers and nested arrays a lookup follows before calling it a loop.
constexpr unsigned max_depth = 32;

}  // namespace

std::string_view kind_name(std::uint32_t kind) noexcept {
    static constexpr std::array<std::string_view, 20> names{
        "UNKN",  "INT",      "PTR",      "ARRAY", "STRUCT", "UNION",    "ENUM",     "FWD",      "TYPEDEF",  "VOLATILE",
        "CONST", "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"};
    return kind < names.size() ? names[kind] : std::string_view("unknown");
}

Btf::Record Btf::record(std::uint32_t type_id) const noexcept {
    const std::size_t at = offsets_[type_id];
    return {word(at), word(at + 4), word(at + 8), at};
}

std::uint32_t Btf::word(std::size_t offset) const noexcept { return load_u32(types_, offset); }

std::string_view Btf::name(std::uint32_t offset) const noexcept {
    return {reinterpret_cast<const char*>(strings_.data()) + offset};  // NUL checked by parse()
}

std::optional<std::string_view> Btf::string_at(std::uint32_t offset) const noexcept {
    if (offset >= strings_.size()) return std::nullopt;
    if (std::find(strings_.begin() + offset, strings_.end(), std::byte{0}) == strings_.end()) return std::nullopt;
    return name(offset);
}

Result<std::uint32_t> Btf::resolved(std::uint32_t type_id) const {
    for (unsigned depth = 0; depth <= max_depth; ++depth) {
        if (type_id == 0 || type_id >= type_count()) return type_id;
        switch (record(type_id).kind()) {
        case BTF_KIND_TYPEDEF:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG: type_id = record(type_id).size_or_type; break;
        default: return type_id;
        }
    }
    return malformed(concat({"type ", std::uint64_t{type_id}, ": more than ", std::uint64_t{max_depth},
                             " typedefs and modifiers in a row (a loop?)"}));
}

Result<std::uint32_t> Btf::type_size(std::uint32_t type_id) const { return sized(type_id, 0); }

// NOLINTNEXTLINE(misc-no-recursion): arrays of arrays; the depth is capped at max_depth (an error past it)
Result<std::uint32_t> Btf::sized(std::uint32_t type_id, unsigned depth) const {
    if (type_id >= type_count())
        return malformed(concat({"type ", std::uint64_t{type_id}, " does not exist (", std::uint64_t{type_count()},
                                 " types)"}));
    if (depth > max_depth)
        return malformed(concat({"type ", std::uint64_t{type_id}, ": nested more than ", std::uint64_t{max_depth},
                                 " deep (a loop?)"}));
    const auto id = resolved(type_id);
    if (!id) return std::unexpected(id.error());
    if (*id == 0) return malformed(concat({"type ", std::uint64_t{type_id}, " is void: it has no size"}));
    const Record rec = record(*id);
    switch (rec.kind()) {
    case BTF_KIND_INT:
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
    case BTF_KIND_FLOAT:
    case BTF_KIND_DATASEC: return rec.size_or_type;
    case BTF_KIND_PTR: return std::uint32_t{8};
    case BTF_KIND_ARRAY: {
        const std::size_t data = rec.offset + sizeof(btf_type);
        const auto element = sized(word(data + offsetof(btf_array, type)), depth + 1);
        if (!element) return element;
        const std::uint64_t total = std::uint64_t{*element} * word(data + offsetof(btf_array, nelems));
        if (total > UINT32_MAX)
            return malformed(concat({"type ", std::uint64_t{*id}, " (ARRAY): ", total, " bytes overflow 32 bits"}));
        return static_cast<std::uint32_t>(total);
    }
    default:
        return malformed(concat({"type ", std::uint64_t{*id}, " (", kind_name(rec.kind()), ") has no size"}));
    }
}

Result<std::vector<Variable>> Btf::datasec_variables(std::string_view section) const {
    std::vector<Variable> variables;
    for (std::uint32_t id = 1; id < type_count(); ++id) {
        const Record rec = record(id);
        if (rec.kind() != BTF_KIND_DATASEC || name(rec.name_off) != section) continue;
        for (std::uint32_t i = 0; i < rec.vlen(); ++i) {
            const std::size_t at = rec.offset + sizeof(btf_type) + i * sizeof(btf_var_secinfo);
            const std::uint32_t var_id = word(at + offsetof(btf_var_secinfo, type));
            if (var_id == 0 || record(var_id).kind() != BTF_KIND_VAR)
                return malformed(concat({"DATASEC \"", section, "\" entry ", std::uint64_t{i}, ": type ",
                                         std::uint64_t{var_id}, " is not a VAR"}));
            const Record var = record(var_id);
            Variable variable{name(var.name_off), var.size_or_type, word(at + offsetof(btf_var_secinfo, offset)),
                              word(at + offsetof(btf_var_secinfo, size))};
            if (variable.size == 0) {
                const auto size = type_size(variable.type_id);
                if (!size) return std::unexpected(size.error());
                variable.size = *size;
            }
            variables.push_back(variable);
        }
        break;
    }
    return variables;
}

}  // namespace sockfilter::detail::btf
