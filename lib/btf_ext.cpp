// Ext::parse: the .BTF.ext header and its func_info, line_info and CO-RE relocation areas.
#include <algorithm>
#include <array>

#include "btf.hpp"
#include "btf_bytes.hpp"
#include "text.hpp"

namespace sockfilter::detail::btf {

namespace {

// struct btf_ext_header (Documentation/bpf/btf.rst): magic u16, version u8, flags u8, hdr_len u32, then
// func_info_off/len and line_info_off/len (u32 each, relative to the end of the header), and, when hdr_len
// is large enough, core_relo_off/len.
constexpr std::size_t header_min = 24;
constexpr std::size_t header_with_core = 32;
constexpr std::size_t func_info_off_at = 8;
constexpr std::size_t line_info_off_at = 16;
constexpr std::size_t core_relo_off_at = 24;
constexpr std::size_t section_header = 8;  // sec_name_off, num_info

/// The error of a malformed .BTF.ext: InvalidArgument, operation "BTF.ext".
std::unexpected<Error> malformed_ext(std::string detail) {
    return fail(ErrorKind::InvalidArgument, "BTF.ext", 0, std::move(detail));
}

/// Which list of ExtSection an area's records go to.
enum class Area : std::uint8_t { FuncInfo, LineInfo, CoreRelo };

/// One area of the body: where its offset/length pair sits in the header, its name and minimum record size.
struct AreaSpec {
    Area area;
    std::string_view name;
    std::size_t header_at;
    std::uint32_t min_record;
};

/// The section called `name` in `ext`, appended when new.
ExtSection& section_named(Ext& ext, std::string_view name) {
    const auto found = std::ranges::find_if(ext.sections, [&](const ExtSection& section) { return section.section == name; });
    if (found != ext.sections.end()) return *found;
    return ext.sections.emplace_back(ExtSection{name, {}, {}, 0});
}

/// Parses one area: a u32 record size, then per section sec_name_off, num_info and num_info records.
Result<std::uint32_t> parse_area(const AreaSpec& spec, std::span<const std::byte> area, const Btf& btf, Ext& ext) {
    if (area.size() < 4)
        return malformed_ext(concat({spec.name, ": ", std::uint64_t{area.size()}, " bytes, too short for the record size"}));
    const std::uint32_t record_size = load_u32(area, 0);
    if (record_size < spec.min_record || record_size % 4 != 0)
        return malformed_ext(concat({spec.name, ": record size ", std::uint64_t{record_size}, " (at least ",
                                     std::uint64_t{spec.min_record}, ", a multiple of 4)"}));
    for (std::size_t at = 4; at < area.size();) {
        if (area.size() - at < section_header)
            return malformed_ext(concat({spec.name, ": section header at offset ", std::uint64_t{at}, " truncated"}));
        const std::uint32_t name_off = load_u32(area, at);
        const std::uint32_t count = load_u32(area, at + 4);
        const auto name = btf.string_at(name_off);
        if (!name)
            return malformed_ext(concat({spec.name, ": section name offset ", std::uint64_t{name_off},
                                         " is not a string of .BTF"}));
        if (count == 0) return malformed_ext(concat({spec.name, ": section \"", *name, "\" has no records"}));
        at += section_header;
        const std::uint64_t bytes = std::uint64_t{count} * record_size;
        if (bytes > area.size() - at)
            return malformed_ext(concat({spec.name, ": section \"", *name, "\": ", std::uint64_t{count}, " records of ",
                                         std::uint64_t{record_size}, " bytes, only ", std::uint64_t{area.size() - at},
                                         " bytes left in the area"}));
        ExtSection& section = section_named(ext, *name);
        if (spec.area == Area::CoreRelo) {
            section.core_relocation_count += count;
        } else {
            auto& records = spec.area == Area::FuncInfo ? section.func_info : section.line_info;
            for (std::uint32_t i = 0; i < count; ++i, at += record_size)
                records.push_back(ExtRecord{load_u32(area, at), area.subspan(at, record_size)});
            continue;
        }
        at += static_cast<std::size_t>(bytes);
    }
    return record_size;
}

}  // namespace

Result<Ext> Ext::parse(std::span<const std::byte> bytes, const Btf& btf) {
    if (bytes.size() < header_min)
        return malformed_ext(concat({"header truncated: ", std::uint64_t{bytes.size()}, " bytes, at least ",
                                     std::uint64_t{header_min}, " needed"}));
    if (load_u16(bytes, 0) != 0xeb9f) return malformed_ext("header: bad magic (expected 0xeb9f)");
    if (const auto version = std::to_integer<std::uint32_t>(bytes[2]); version != 1)
        return malformed_ext(concat({"header: version ", std::uint64_t{version}, " (only 1 is known)"}));
    if (const auto flags = std::to_integer<std::uint32_t>(bytes[3]); flags != 0)
        return malformed_ext(concat({"header: flags ", std::uint64_t{flags}, " (expected 0)"}));
    const std::uint32_t hdr_len = load_u32(bytes, 4);
    if (hdr_len < header_min || hdr_len > bytes.size())
        return malformed_ext(concat({"header: hdr_len ", std::uint64_t{hdr_len}, " is not between ",
                                     std::uint64_t{header_min}, " and the ", std::uint64_t{bytes.size()},
                                     " bytes of .BTF.ext"}));
    const auto body = bytes.subspan(hdr_len);

    static constexpr std::array<AreaSpec, 3> specs{{
        {Area::FuncInfo, "func_info", func_info_off_at, 8},
        {Area::LineInfo, "line_info", line_info_off_at, 16},
        {Area::CoreRelo, "core_relo", core_relo_off_at, 16},
    }};
    Ext ext;
    for (const AreaSpec& spec : specs) {
        if (spec.area == Area::CoreRelo && hdr_len < header_with_core) continue;
        const std::uint64_t off = load_u32(bytes, spec.header_at);
        const std::uint64_t len = load_u32(bytes, spec.header_at + 4);
        if (len == 0) continue;
        if (off + len > body.size() || off % 4 != 0)
            return malformed_ext(concat({spec.name, ": area (offset ", off, ", length ", len, ") is not 4-byte aligned inside the ",
                                         std::uint64_t{body.size()}, " bytes after the header"}));
        const auto record_size = parse_area(spec, body.subspan(off, len), btf, ext);
        if (!record_size) return std::unexpected(record_size.error());
        if (spec.area == Area::FuncInfo) ext.func_info_record_size = *record_size;
        if (spec.area == Area::LineInfo) ext.line_info_record_size = *record_size;
    }
    return ext;
}

}  // namespace sockfilter::detail::btf
