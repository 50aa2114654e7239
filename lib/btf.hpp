// Private: a bounds-checked reader of BTF (.BTF) and BTF.ext (.BTF.ext) as clang writes them into BPF
// objects: type lookups for BTF-defined maps and global variables, the fix-ups the kernel needs before
// BPF_BTF_LOAD, and the per-section func_info / line_info records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"

namespace sockfilter::detail::btf {

/// One variable of a DATASEC (a map definition in ".maps", a global in ".data", ".rodata", ".bss").
struct Variable {
    std::string_view name;
    std::uint32_t type_id = 0;  ///< the VAR's type (not the VAR itself)
    std::uint32_t offset = 0;   ///< as written by clang (0 in objects: see fixed_for_kernel)
    std::uint32_t size = 0;     ///< bytes of the variable's resolved type
};

/// A BTF-defined map (`struct { __uint(type, …); __type(key, …); … } name SEC(".maps");`), as written.
/// A field absent from the definition is std::nullopt.
struct MapDefinition {
    std::optional<std::uint32_t> type;
    std::optional<std::uint32_t> key_size;       ///< from __uint(key_size) or the size of __type(key)
    std::optional<std::uint32_t> value_size;     ///< from __uint(value_size) or the size of __type(value)
    std::optional<std::uint32_t> max_entries;
    std::optional<std::uint32_t> map_flags;
    std::optional<std::uint32_t> numa_node;
    std::optional<std::uint32_t> pinning;        ///< 0 none, 1 LIBBPF_PIN_BY_NAME
    std::optional<std::uint64_t> map_extra;
    std::uint32_t key_type_id = 0;               ///< BTF id of the key type when given by __type, else 0
    std::uint32_t value_type_id = 0;             ///< BTF id of the value type when given by __type, else 0
};

/// A parsed .BTF section. Views into the bytes given to parse(), which must outlive it.
class Btf final {
public:
    /// Checks the header (magic 0xeB9F in the host's byte order, version 1, flags 0, hdr_len ≥ 24), that
    /// the type and string areas lie inside `bytes`, every type record's length and kind, every name offset and every type reference.
    /// Errors: InvalidArgument, operation "BTF", detail naming the type id and what is wrong.
    [[nodiscard]] static Result<Btf> parse(std::span<const std::byte> bytes);

    /// The variables of the DATASEC named `section` (e.g. ".maps", ".rodata"), in BTF order; empty when
    /// there is no such DATASEC.
    [[nodiscard]] Result<std::vector<Variable>> datasec_variables(std::string_view section) const;

    /// Decodes the map definition struct `type_id` (a VAR's type from ".maps"): members are pointers to
    /// arrays whose element count is the value (`__uint`), or pointers to the key/value type (`__type`).
    /// Errors: InvalidArgument naming the map and the member (unknown member, not a pointer, …);
    /// NotSupported for map-in-map `values` arrays.
    [[nodiscard]] Result<MapDefinition> map_definition(std::string_view map_name, std::uint32_t type_id) const;

    /// The size in bytes of type `type_id` after typedefs and modifiers. Errors: InvalidArgument
    /// (no such type, or a type without a size such as void or a function).
    [[nodiscard]] Result<std::uint32_t> type_size(std::uint32_t type_id) const;

    /// A copy of the .BTF bytes as the kernel accepts them: clang leaves every DATASEC's size and its
    /// VARs' offsets 0; here each DATASEC gets `section_size(name)` and each VAR `symbol_offset(section,
    /// variable)`. A lookup returning nullopt is an error (InvalidArgument naming the DATASEC or variable;
    /// NotSupported for sections the object loader does not map, such as ".kconfig").
    [[nodiscard]] Result<std::vector<std::byte>> fixed_for_kernel(
        const std::function<std::optional<std::uint32_t>(std::string_view section)>& section_size,
        const std::function<std::optional<std::uint32_t>(std::string_view section, std::string_view variable)>&
            symbol_offset) const;

    /// The NUL-terminated string at `offset` of the string area, or nullopt when `offset` is outside it
    /// or the string has no terminating NUL inside it (for names BTF.ext refers to).
    [[nodiscard]] std::optional<std::string_view> string_at(std::uint32_t offset) const noexcept;

    /// The number of types including void (type id 0): valid type ids are below it.
    [[nodiscard]] std::uint32_t type_count() const noexcept { return static_cast<std::uint32_t>(offsets_.size()); }

private:
    /// The fixed part of one type record (struct btf_type), with where it lies in the type area.
    struct Record {
        std::uint32_t name_off = 0;      ///< offset of the name in the string area
        std::uint32_t info = 0;          ///< vlen, kind and kind_flag bits
        std::uint32_t size_or_type = 0;  ///< `size` or `type`, by kind
        std::size_t offset = 0;          ///< of the record in the type area; trailing data follows at +12
        /// BTF_KIND_* of the record.
        [[nodiscard]] std::uint32_t kind() const noexcept { return (info >> 24) & 0x1f; }
        /// The count of trailing members, enumerators, parameters or secinfos.
        [[nodiscard]] std::uint32_t vlen() const noexcept { return info & 0xffff; }
    };

    /// The record of type `type_id` (1 ≤ type_id < type_count(), checked by the caller).
    [[nodiscard]] Record record(std::uint32_t type_id) const noexcept;
    /// The u32 at byte `offset` of the type area (inside it: checked by parse()).
    [[nodiscard]] std::uint32_t word(std::size_t offset) const noexcept;
    /// A name parse() checked (inside the string area and NUL-terminated).
    [[nodiscard]] std::string_view name(std::uint32_t offset) const noexcept;
    /// `type_id` with typedefs, volatile, const, restrict and type tags skipped (at most 32 of them).
    [[nodiscard]] Result<std::uint32_t> resolved(std::uint32_t type_id) const;
    /// type_size() with the nesting depth so far (arrays of arrays, chains of modifiers) bounded.
    [[nodiscard]] Result<std::uint32_t> sized(std::uint32_t type_id, unsigned depth) const;

    std::span<const std::byte> bytes_;    ///< the whole .BTF section
    std::span<const std::byte> types_;    ///< the type area
    std::span<const std::byte> strings_;  ///< the string area
    std::vector<std::uint32_t> offsets_;  ///< by type id: the record's offset in the type area (0 for void)
};

/// One func_info or line_info record of .BTF.ext, raw: `insn_offset` is in bytes from the start of the
/// section (the kernel wants instruction indexes from the start of the loaded program: the Object
/// rewrites them). `record` is the whole record as in the file (record_size bytes).
struct ExtRecord {
    std::uint32_t insn_offset = 0;
    std::span<const std::byte> record;
};

/// The records of one section (e.g. "socket") in .BTF.ext.
struct ExtSection {
    std::string_view section;  ///< name, from the .BTF string table
    std::vector<ExtRecord> func_info;
    std::vector<ExtRecord> line_info;
    std::uint32_t core_relocation_count = 0;  ///< CO-RE relocations (not supported: the Object refuses them)
};

/// A parsed .BTF.ext: record sizes and per-section records. Names resolve in `btf`'s string table.
struct Ext {
    std::uint32_t func_info_record_size = 0;  ///< 8 today (insn_off, type_id)
    std::uint32_t line_info_record_size = 0;  ///< 16 today (insn_off, file_name_off, line_off, line_col)
    std::vector<ExtSection> sections;

    /// Checks the header, the func_info/line_info/core_relo areas and every record count against
    /// `bytes`. Errors: InvalidArgument, operation "BTF.ext", naming the area and what is wrong.
    [[nodiscard]] static Result<Ext> parse(std::span<const std::byte> bytes, const Btf& btf);
};

}  // namespace sockfilter::detail::btf
