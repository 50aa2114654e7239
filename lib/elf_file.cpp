// The ELF64 reader: every field copied out of the input with memcpy, every offset, size and index checked
// (without overflow) before it is used.
#include "elf_file.hpp"

#include <elf.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "text.hpp"

namespace sockfilter::detail::elf {

namespace {

using Bytes = std::span<const std::byte>;

std::unexpected<Error> invalid(std::string detail) {
    return fail(ErrorKind::InvalidArgument, "ELF object", 0, std::move(detail));
}

/// True when [offset, offset + size) lies inside `total` bytes; never overflows.
bool inside(std::uint64_t offset, std::uint64_t size, std::uint64_t total) noexcept {
    return offset <= total && size <= total - offset;
}

/// A T copied from `bytes` at `offset`; the caller has checked inside(offset, sizeof(T), bytes.size()).
template <typename T>
T read_at(Bytes bytes, std::uint64_t offset) noexcept {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

/// The NUL-terminated string at `offset` of a string table, or nullopt when the offset is outside the
/// table or no NUL follows it inside the table.
std::optional<std::string_view> string_at(Bytes table, std::uint64_t offset) noexcept {
    if (offset >= table.size()) return std::nullopt;
    const auto* begin = reinterpret_cast<const char*>(table.data()) + offset;
    const auto* nul = static_cast<const char*>(std::memchr(begin, 0, table.size() - offset));
    if (nul == nullptr) return std::nullopt;
    return std::string_view(begin, static_cast<std::size_t>(nul - begin));
}

/// Why string_at() found nothing, for a message: "name offset 9 is outside <table> (size 4)" or "… is not
/// NUL-terminated inside <table>".
std::string bad_name(Bytes table, std::uint64_t offset, std::string_view table_label) {
    if (offset >= table.size())
        return concat({"name offset ", offset, " is outside ", table_label, " (size ", table.size(), ")"});
    return concat({"name at offset ", offset, " is not NUL-terminated inside ", table_label});
}

/// "section 'socket' (index 3)", or "section 3" when the section has no name.
std::string label(const Section& section) {
    if (section.name.empty()) return concat({"section ", section.index});
    return concat({"section '", section.name, "' (index ", section.index, ")"});
}

std::string_view class_name(unsigned value) noexcept {
    return value == ELFCLASS32 ? "ELFCLASS32" : value == ELFCLASS64 ? "ELFCLASS64" : "unknown";
}

std::string_view data_name(unsigned value) noexcept {
    return value == ELFDATA2LSB ? "ELFDATA2LSB, little-endian" : value == ELFDATA2MSB ? "ELFDATA2MSB, big-endian" : "unknown";
}

std::string_view type_name(unsigned value) noexcept {
    switch (value) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL";
    case ET_EXEC: return "ET_EXEC, an executable";
    case ET_DYN: return "ET_DYN, a shared object or PIE";
    case ET_CORE: return "ET_CORE, a core dump";
    default: return "unknown";
    }
}

std::string_view machine_name(unsigned value) noexcept {
    switch (value) {
    case EM_386: return "x86";
    case EM_X86_64: return "x86-64";
    case EM_ARM: return "ARM";
    case EM_AARCH64: return "AArch64";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "s390";
    case EM_MIPS: return "MIPS";
    case EM_BPF: return "BPF";
    default: return "unknown";
    }
}

/// Where the section header table is, from a checked ELF header.
struct Layout {
    std::uint64_t table_offset = 0;
    std::uint16_t count = 0;
    std::uint16_t names_index = 0;
};

Result<Layout> read_header(Bytes bytes) {
    if (bytes.empty()) return invalid("the input is empty (0 bytes), expected an ELF object");
    if (bytes.size() < sizeof(Elf64_Ehdr))
        return invalid(concat({"truncated ELF header: ", bytes.size(), " bytes, expected at least ", sizeof(Elf64_Ehdr)}));
    const auto header = read_at<Elf64_Ehdr>(bytes, 0);
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return invalid("not an ELF file: the input does not start with \\x7fELF");
    const unsigned elf_class = header.e_ident[EI_CLASS];
    if (elf_class != ELFCLASS64)
        return invalid(concat({"class is ", elf_class, " (", class_name(elf_class), "), expected ELFCLASS64 (2)"}));
    const unsigned data = header.e_ident[EI_DATA];
    if (data != ELFDATA2LSB)
        return invalid(concat({"data encoding is ", data, " (", data_name(data),
                               "), expected ELFDATA2LSB (1): compile with clang -target bpfel"}));
    const unsigned version = header.e_ident[EI_VERSION];
    if (version != EV_CURRENT) return invalid(concat({"ELF version is ", version, ", expected EV_CURRENT (1)"}));
    if (header.e_type != ET_REL)
        return invalid(concat({"type is ", header.e_type, " (", type_name(header.e_type),
                               "), expected ET_REL (1): pass the object clang -c writes, not a linked file"}));
    if (header.e_machine != EM_BPF)
        return invalid(concat({"machine is ", header.e_machine, " (", machine_name(header.e_machine),
                               "), expected EM_BPF (247): compile with clang -target bpf"}));
    if (header.e_shnum == 0) {
        if (header.e_shoff == 0) return invalid("there is no section header table (e_shnum and e_shoff are 0)");
        return invalid("e_shnum is 0 with e_shoff set: extended section numbering (65280 sections or more) is not supported");
    }
    if (header.e_shentsize != sizeof(Elf64_Shdr))
        return invalid(concat({"section header size e_shentsize is ", header.e_shentsize, ", expected ", sizeof(Elf64_Shdr)}));
    const std::uint64_t table_size = std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr);
    if (!inside(header.e_shoff, table_size, bytes.size()))
        return invalid(concat({"the section header table (e_shoff ", header.e_shoff, ", e_shnum ", header.e_shnum, ", ",
                               table_size, " bytes) runs past the end of the input (", bytes.size(), " bytes)"}));
    if (header.e_shstrndx == SHN_XINDEX)
        return invalid("e_shstrndx is SHN_XINDEX: extended section numbering is not supported");
    if (header.e_shstrndx == SHN_UNDEF)
        return invalid("e_shstrndx is 0 (SHN_UNDEF): there is no section name table");
    if (header.e_shstrndx >= header.e_shnum)
        return invalid(concat({"e_shstrndx ", header.e_shstrndx, " is not below the section count e_shnum (",
                               header.e_shnum, ")"}));
    return Layout{header.e_shoff, header.e_shnum, header.e_shstrndx};
}

/// The bytes of a section, or an error when they are not all inside the input. SHT_NULL and SHT_NOBITS
/// sections have none.
Result<Bytes> section_bytes(Bytes bytes, const Elf64_Shdr& header, std::string_view what) {
    if (header.sh_type == SHT_NULL || header.sh_type == SHT_NOBITS) return Bytes{};
    if (header.sh_offset > bytes.size())
        return invalid(concat({what, ": offset ", header.sh_offset, " is past the end of the input (", bytes.size(), " bytes)"}));
    if (!inside(header.sh_offset, header.sh_size, bytes.size()))
        return invalid(concat({what, ": size ", header.sh_size, " at offset ", header.sh_offset,
                               " runs past the end of the input (", bytes.size(), " bytes)"}));
    return bytes.subspan(header.sh_offset, header.sh_size);
}

/// Every section header, raw (for the entry sizes) and resolved (names and bytes checked).
struct Sections {
    std::vector<Elf64_Shdr> headers;
    std::vector<Section> resolved;
};

Result<Sections> read_sections(Bytes bytes, const Layout& layout) {
    Sections out;
    out.headers.reserve(layout.count);
    for (std::uint64_t index = 0; index < layout.count; ++index)
        out.headers.push_back(read_at<Elf64_Shdr>(bytes, layout.table_offset + index * sizeof(Elf64_Shdr)));
    if (out.headers[0].sh_type != SHT_NULL)
        return invalid(concat({"section 0: type is ", out.headers[0].sh_type, ", expected SHT_NULL (0)"}));

    const Elf64_Shdr& names_header = out.headers[layout.names_index];
    const std::string names_label = concat({"section ", layout.names_index, " (the section name table, e_shstrndx)"});
    if (names_header.sh_type != SHT_STRTAB)
        return invalid(concat({names_label, ": type is ", names_header.sh_type, ", expected SHT_STRTAB (3)"}));
    const auto names = section_bytes(bytes, names_header, names_label);
    if (!names) return std::unexpected(names.error());

    out.resolved.reserve(layout.count);
    for (std::uint32_t index = 0; index < layout.count; ++index) {
        const Elf64_Shdr& header = out.headers[index];
        const auto name = string_at(*names, header.sh_name);
        if (!name) return invalid(concat({"section ", index, ": ", bad_name(*names, header.sh_name, "the section name table")}));
        Section section{.index = index, .name = *name, .type = header.sh_type, .flags = header.sh_flags,
                        .size = header.sh_size, .link = header.sh_link, .info = header.sh_info, .data = {}};
        const auto data = section_bytes(bytes, header, label(section));
        if (!data) return std::unexpected(data.error());
        section.data = *data;
        out.resolved.push_back(section);
    }
    return out;
}

/// The index of the one SHT_SYMTAB section (0 when there is none).
Result<std::uint32_t> find_symbol_table(const std::vector<Section>& sections) {
    std::uint32_t found = 0;
    for (const Section& section : sections) {
        if (section.type != SHT_SYMTAB) continue;
        if (found != 0)
            return invalid(concat({label(section), " is a second SHT_SYMTAB (the first is ", label(sections[found]),
                                   "): expected one symbol table"}));
        found = section.index;
    }
    return found;
}

Result<std::vector<Symbol>> read_symbols(const Sections& all, std::uint32_t table_index) {
    const Section& table = all.resolved[table_index];
    const std::string table_label = label(table);
    const std::uint64_t entry_size = all.headers[table_index].sh_entsize;
    if (entry_size != sizeof(Elf64_Sym))
        return invalid(concat({table_label, ": entry size sh_entsize is ", entry_size, ", expected ", sizeof(Elf64_Sym),
                               " (Elf64_Sym)"}));
    if (table.size % sizeof(Elf64_Sym) != 0)
        return invalid(concat({table_label, ": size ", table.size, " is not a multiple of the entry size ", sizeof(Elf64_Sym)}));
    if (table.link >= all.resolved.size())
        return invalid(concat({table_label, ": sh_link ", table.link, " (its string table) is not below the section count (",
                               all.resolved.size(), ")"}));
    const Section& strings = all.resolved[table.link];
    if (strings.type != SHT_STRTAB)
        return invalid(concat({table_label, ": sh_link points at ", label(strings), " of type ", strings.type,
                               ", expected SHT_STRTAB (3)"}));
    const std::string strings_label = label(strings);

    std::vector<Symbol> symbols;
    symbols.reserve(table.data.size() / sizeof(Elf64_Sym));
    for (std::uint32_t index = 0; index < table.data.size() / sizeof(Elf64_Sym); ++index) {
        const auto raw = read_at<Elf64_Sym>(table.data, std::uint64_t{index} * sizeof(Elf64_Sym));
        const auto name = string_at(strings.data, raw.st_name);
        if (!name) return invalid(concat({table_label, ", symbol ", index, ": ", bad_name(strings.data, raw.st_name, strings_label)}));
        const std::uint64_t shndx = raw.st_shndx;
        const auto where = [&] { return concat({table_label, ", symbol ", index, " '", *name, "': section index ", shndx}); };
        if (shndx == SHN_XINDEX) return invalid(concat({where(), " (SHN_XINDEX): extended section numbering is not supported"}));
        if (shndx >= SHN_LORESERVE && shndx != SHN_ABS && shndx != SHN_COMMON)
            return invalid(concat({where(), " is reserved: only SHN_ABS (65521) and SHN_COMMON (65522) are accepted"}));
        if (shndx < SHN_LORESERVE && shndx >= all.resolved.size())
            return invalid(concat({where(), " is not below the section count (", all.resolved.size(), ")"}));
        symbols.push_back(Symbol{.index = index, .name = *name, .value = raw.st_value, .size = raw.st_size,
                                 .type = static_cast<std::uint8_t>(raw.st_info & 0xfU),
                                 .bind = static_cast<std::uint8_t>(raw.st_info >> 4U), .section = raw.st_shndx});
    }
    return symbols;
}

/// Appends the checked entries of one SHT_REL section to `out` as (target section, relocation).
Result<void> read_relocations(const Sections& all, const Section& rel, std::uint32_t symbol_table, std::size_t symbol_count,
                              std::vector<std::pair<std::uint32_t, Relocation>>& out) {
    const std::string rel_label = label(rel);
    const std::uint64_t entry_size = all.headers[rel.index].sh_entsize;
    if (entry_size != sizeof(Elf64_Rel))
        return invalid(concat({rel_label, ": entry size sh_entsize is ", entry_size, ", expected ", sizeof(Elf64_Rel), " (Elf64_Rel)"}));
    if (rel.size % sizeof(Elf64_Rel) != 0)
        return invalid(concat({rel_label, ": size ", rel.size, " is not a multiple of the entry size ", sizeof(Elf64_Rel)}));
    if (symbol_table == 0) return invalid(concat({rel_label, ": relocations, but the object has no SHT_SYMTAB"}));
    if (rel.link != symbol_table)
        return invalid(concat({rel_label, ": sh_link ", rel.link, " is not the symbol table (section ", symbol_table, ")"}));
    if (rel.info == 0 || rel.info >= all.resolved.size())
        return invalid(concat({rel_label, ": target section sh_info ", rel.info, " is out of range, expected 1 to ",
                               all.resolved.size() - 1}));
    const Section& target = all.resolved[rel.info];

    for (std::uint64_t entry = 0; entry < rel.data.size() / sizeof(Elf64_Rel); ++entry) {
        const auto raw = read_at<Elf64_Rel>(rel.data, entry * sizeof(Elf64_Rel));
        const std::uint64_t symbol = raw.r_info >> 32U;
        if (symbol >= symbol_count)
            return invalid(concat({rel_label, ", relocation ", entry, ": symbol index ", symbol,
                                   " is out of range (the symbol table has ", symbol_count, " symbols)"}));
        if (raw.r_offset >= target.size)
            return invalid(concat({rel_label, ", relocation ", entry, ": offset ", raw.r_offset, " is outside target ",
                                   label(target), " of size ", target.size}));
        out.emplace_back(target.index, Relocation{.offset = raw.r_offset,
                                                  .type = static_cast<std::uint32_t>(raw.r_info & 0xffffffffU),
                                                  .symbol = static_cast<std::uint32_t>(symbol)});
    }
    return {};
}

}  // namespace

Result<File> File::parse(std::span<const std::byte> bytes) {
    const auto layout = read_header(bytes);
    if (!layout) return std::unexpected(layout.error());
    auto sections = read_sections(bytes, *layout);
    if (!sections) return std::unexpected(sections.error());
    const auto symbol_table = find_symbol_table(sections->resolved);
    if (!symbol_table) return std::unexpected(symbol_table.error());

    File file;
    if (*symbol_table != 0) {
        auto symbols = read_symbols(*sections, *symbol_table);
        if (!symbols) return std::unexpected(symbols.error());
        file.symbols_ = std::move(*symbols);
    }
    for (const Section& section : sections->resolved) {
        if (section.type == SHT_RELA)
            return invalid(concat({label(section), " is SHT_RELA: BPF objects carry SHT_REL relocations (no addends)"}));
        if (section.type != SHT_REL) continue;
        const auto read = read_relocations(*sections, section, *symbol_table, file.symbols_.size(), file.relocations_);
        if (!read) return std::unexpected(read.error());
    }
    file.sections_ = std::move(sections->resolved);
    return file;
}

const Section* File::find_section(std::string_view name) const noexcept {
    for (const Section& section : sections_)
        if (section.name == name) return &section;
    return nullptr;
}

std::vector<Relocation> File::relocations_for(std::uint32_t target) const {
    std::vector<Relocation> out;
    for (const auto& [section, relocation] : relocations_)
        if (section == target) out.push_back(relocation);
    return out;
}

}  // namespace sockfilter::detail::elf
