// A small in-memory builder of ELF64 little-endian EM_BPF relocatable objects, for tests of the ELF
// reader: sections, a string table, symbols and SHT_REL entries. After layout() every header field is a
// plain public member, so a test breaks exactly one of them before taking bytes().
#pragma once

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockfilter_test {

/// The bytes of a trivially copyable value, appended in host (little-endian) order.
template <typename T>
void append_bytes(std::vector<std::byte>& out, const T& value) {
    const auto* first = reinterpret_cast<const std::byte*>(&value);
    out.insert(out.end(), first, first + sizeof value);
}

/// `size` copies of one byte.
inline std::vector<std::byte> filled(std::size_t size, unsigned char value) {
    return std::vector<std::byte>(size, std::byte{value});
}

/// The SHT_STRTAB contents: a leading NUL, then each added name with its NUL.
class StringTable {
public:
    /// Adds `name`; returns its offset (the st_name / sh_name value).
    std::uint32_t add(std::string_view name) {
        const auto offset = static_cast<std::uint32_t>(bytes_.size());
        for (const char c : name) bytes_.push_back(static_cast<std::byte>(c));
        bytes_.push_back(std::byte{0});
        return offset;
    }
    [[nodiscard]] const std::vector<std::byte>& bytes() const noexcept { return bytes_; }

private:
    std::vector<std::byte> bytes_{std::byte{0}};
};

/// One Elf64_Sym.
inline Elf64_Sym symbol(std::uint32_t name, unsigned char type, unsigned char bind, std::uint16_t section,
                        std::uint64_t value = 0, std::uint64_t size = 0) {
    return Elf64_Sym{.st_name = name, .st_info = static_cast<unsigned char>((bind << 4U) | type), .st_other = 0,
                     .st_shndx = section, .st_value = value, .st_size = size};
}

/// One Elf64_Rel.
inline Elf64_Rel relocation(std::uint64_t offset, std::uint32_t symbol_index, std::uint32_t type) {
    return Elf64_Rel{.r_offset = offset, .r_info = (std::uint64_t{symbol_index} << 32U) | type};
}

/// The bytes of a table of entries (symbols, relocations).
template <typename Entry>
std::vector<std::byte> table(std::initializer_list<Entry> entries) {
    std::vector<std::byte> out;
    for (const Entry& entry : entries) append_bytes(out, entry);
    return out;
}

/// One section to add. `size` is used for SHT_NOBITS only; other sections are as large as `data`.
struct ElfSection {
    std::string name;
    std::uint32_t type = SHT_PROGBITS;
    std::uint64_t flags = 0;
    std::vector<std::byte> data = {};
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::uint64_t entsize = 0;
    std::uint64_t size = 0;
};

/// The image: ELF header, every section's bytes (8-aligned), .shstrtab (added last by layout()), then the
/// section header table.
class ElfImage {
public:
    Elf64_Ehdr header{};                        ///< filled by layout(); edit, then take bytes()
    std::vector<Elf64_Shdr> section_headers;    ///< likewise; index 0 is the null section
    std::vector<std::byte> contents;            ///< everything between the ELF header and the header table

    /// Adds a section before layout(); returns its index.
    std::uint32_t add(ElfSection section) {
        sections_.push_back(std::move(section));
        return static_cast<std::uint32_t>(sections_.size());
    }

    /// Places the sections and .shstrtab, and fills `header` and `section_headers`.
    void layout() {
        StringTable names;
        section_headers.assign(1, Elf64_Shdr{});
        for (const ElfSection& section : sections_) {
            while (contents.size() % 8 != 0) contents.push_back(std::byte{0});
            const bool nobits = section.type == SHT_NOBITS;
            section_headers.push_back(Elf64_Shdr{
                .sh_name = names.add(section.name), .sh_type = section.type, .sh_flags = section.flags, .sh_addr = 0,
                .sh_offset = sizeof(Elf64_Ehdr) + contents.size(), .sh_size = nobits ? section.size : section.data.size(),
                .sh_link = section.link, .sh_info = section.info, .sh_addralign = 8, .sh_entsize = section.entsize});
            contents.insert(contents.end(), section.data.begin(), section.data.end());
        }
        const std::uint32_t names_name = names.add(".shstrtab");
        section_headers.push_back(Elf64_Shdr{
            .sh_name = names_name, .sh_type = SHT_STRTAB, .sh_flags = 0, .sh_addr = 0,
            .sh_offset = sizeof(Elf64_Ehdr) + contents.size(), .sh_size = names.bytes().size(), .sh_link = 0,
            .sh_info = 0, .sh_addralign = 1, .sh_entsize = 0});
        contents.insert(contents.end(), names.bytes().begin(), names.bytes().end());
        while (contents.size() % 8 != 0) contents.push_back(std::byte{0});

        header = Elf64_Ehdr{};
        std::memcpy(header.e_ident, ELFMAG, SELFMAG);
        header.e_ident[EI_CLASS] = ELFCLASS64;
        header.e_ident[EI_DATA] = ELFDATA2LSB;
        header.e_ident[EI_VERSION] = EV_CURRENT;
        header.e_type = ET_REL;
        header.e_machine = EM_BPF;
        header.e_version = EV_CURRENT;
        header.e_shoff = table_offset();
        header.e_ehsize = sizeof(Elf64_Ehdr);
        header.e_shentsize = sizeof(Elf64_Shdr);
        header.e_shnum = static_cast<std::uint16_t>(section_headers.size());
        header.e_shstrndx = static_cast<std::uint16_t>(section_headers.size() - 1);
    }

    /// The bytes of section `index` inside `contents` (as laid out), to edit in place.
    std::span<std::byte> section_contents(std::uint32_t index) {
        const Elf64_Shdr& section = section_headers.at(index);
        return std::span(contents).subspan(section.sh_offset - sizeof(Elf64_Ehdr), section.sh_size);
    }

    /// The file: header, contents, then the section headers where layout() put them (whatever e_shoff says).
    [[nodiscard]] std::vector<std::byte> bytes() const {
        std::vector<std::byte> out;
        append_bytes(out, header);
        out.insert(out.end(), contents.begin(), contents.end());
        for (const Elf64_Shdr& section : section_headers) append_bytes(out, section);
        return out;
    }

    /// Where the section header table starts in bytes().
    [[nodiscard]] std::uint64_t table_offset() const noexcept { return sizeof(Elf64_Ehdr) + contents.size(); }

private:
    std::vector<ElfSection> sections_;
};

}  // namespace sockfilter_test
