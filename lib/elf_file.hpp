// Private: a bounds-checked reader of ELF64 little-endian EM_BPF relocatable objects (what clang -target
// bpf writes). It only parses: sections, the symbol table and REL relocations. Every offset, size and
// index is checked once in parse(); afterwards the spans handed out are always inside the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sockfilter/error.hpp"

namespace sockfilter::detail::elf {

/// One section header, resolved. `data` is empty for SHT_NOBITS (.bss) and SHT_NULL (index 0).
struct Section {
    std::uint32_t index = 0;
    std::string_view name;          ///< from .shstrtab
    std::uint32_t type = 0;         ///< SHT_PROGBITS, SHT_NOBITS, SHT_REL, SHT_SYMTAB, …
    std::uint64_t flags = 0;        ///< SHF_EXECINSTR, SHF_ALLOC, SHF_WRITE, …
    std::uint64_t size = 0;         ///< sh_size (also for NOBITS, where no bytes are in the file)
    std::uint32_t link = 0;         ///< sh_link
    std::uint32_t info = 0;         ///< sh_info (for SHT_REL: the section the relocations apply to)
    std::span<const std::byte> data;
};

/// One symbol of .symtab, resolved.
struct Symbol {
    std::uint32_t index = 0;
    std::string_view name;          ///< from the symbol string table (empty for section symbols)
    std::uint64_t value = 0;        ///< st_value: offset inside its section
    std::uint64_t size = 0;         ///< st_size
    std::uint8_t type = 0;          ///< STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION
    std::uint8_t bind = 0;          ///< STB_LOCAL, STB_GLOBAL, STB_WEAK
    std::uint16_t section = 0;      ///< st_shndx (SHN_UNDEF = 0 for undefined symbols, SHN_ABS, …)
};

/// One SHT_REL entry (BPF objects have no addends: they are in the instruction).
struct Relocation {
    std::uint64_t offset = 0;       ///< r_offset: byte offset inside the target section (checked < its size)
    std::uint32_t type = 0;         ///< R_BPF_64_64 (1), R_BPF_64_ABS64 (2), R_BPF_64_ABS32 (3), R_BPF_64_32 (10), …
    std::uint32_t symbol = 0;       ///< index into symbols() (checked)
};

/// A parsed object. Views into the bytes given to parse(), which must outlive it.
class File final {
public:
    /// Checks the ELF header (magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ET_REL, EM_BPF), the section
    /// header table (entry size 64, inside the input, section 0 SHT_NULL), every section's bounds (NOBITS
    /// excepted), the section name table (SHT_STRTAB), the one SHT_SYMTAB and its string table (entry size
    /// 24, every name NUL-terminated inside its table, every st_shndx < section count or SHN_ABS /
    /// SHN_COMMON), and every SHT_REL section (entry size 16, sh_link the symbol table, sh_info a section,
    /// symbol indexes, offsets inside the target section). Refused as unsupported: extended section
    /// numbering (e_shnum 0, SHN_XINDEX), SHT_RELA sections, a second SHT_SYMTAB.
    /// Errors: InvalidArgument, operation "ELF object", detail naming the section (by index while its name
    /// is unreadable), what is wrong and the expected value.
    [[nodiscard]] static Result<File> parse(std::span<const std::byte> bytes);

    /// Every section, by index (index 0 is the null section).
    [[nodiscard]] std::span<const Section> sections() const noexcept { return sections_; }
    /// The first section called `name`, or nullptr.
    [[nodiscard]] const Section* find_section(std::string_view name) const noexcept;
    /// Every symbol of .symtab, by index (empty when there is no symbol table).
    [[nodiscard]] std::span<const Symbol> symbols() const noexcept { return symbols_; }
    /// The relocations that apply to section `target` (from every SHT_REL section whose sh_info is
    /// `target`), in file order.
    [[nodiscard]] std::vector<Relocation> relocations_for(std::uint32_t target) const;

private:
    std::vector<Section> sections_;
    std::vector<Symbol> symbols_;
    std::vector<std::pair<std::uint32_t, Relocation>> relocations_;  // (target section, entry)
};

}  // namespace sockfilter::detail::elf
