// The private ELF reader: objects built in memory (each field broken on its own), a clang-compiled object,
// and sweeps over that object (every truncation, a byte flip in every header byte) that must never crash.
#include <catch2/catch.hpp>
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "elf_file.hpp"
#include "elf_image.hpp"

using namespace sockfilter;
using namespace sockfilter::detail::elf;
using namespace sockfilter_test;
using Catch::Matchers::Contains;

namespace {

// The sections of sample(), by index (.shstrtab is added last by layout()).
enum Index : std::uint32_t { socket = 1, text, bss, strtab, symtab, rel_socket, rel_text, rel_socket_more, shstrtab, count };

/// A small valid object: two code sections, a .bss, symbols of each kind and three REL sections, two of
/// them for 'socket'.
ElfImage sample() {
    StringTable strings;
    const std::uint32_t keep = strings.add("keep");
    const std::uint32_t helper = strings.add("helper");
    const std::uint32_t version = strings.add("version");
    ElfImage image;
    image.add({.name = "socket", .flags = SHF_ALLOC | SHF_EXECINSTR, .data = filled(32, 0x11)});
    image.add({.name = ".text", .flags = SHF_ALLOC | SHF_EXECINSTR, .data = filled(16, 0x22)});
    image.add({.name = ".bss", .type = SHT_NOBITS, .flags = SHF_ALLOC | SHF_WRITE, .size = 64});
    image.add({.name = ".strtab", .type = SHT_STRTAB, .data = strings.bytes()});
    image.add({.name = ".symtab", .type = SHT_SYMTAB,
               .data = table({Elf64_Sym{}, symbol(0, STT_SECTION, STB_LOCAL, text),
                              symbol(keep, STT_FUNC, STB_GLOBAL, socket, 0, 32),
                              symbol(helper, STT_FUNC, STB_GLOBAL, text, 0, 16),
                              symbol(version, STT_NOTYPE, STB_GLOBAL, SHN_ABS, 7)}),
               .link = strtab, .info = 2, .entsize = sizeof(Elf64_Sym)});
    image.add({.name = ".relsocket", .type = SHT_REL, .data = table({relocation(8, 1, 10), relocation(16, 2, 1)}),
               .link = symtab, .info = socket, .entsize = sizeof(Elf64_Rel)});
    image.add({.name = ".rel.text", .type = SHT_REL, .data = table({relocation(0, 3, 2)}), .link = symtab, .info = text,
               .entsize = sizeof(Elf64_Rel)});
    image.add({.name = ".relsocket.more", .type = SHT_REL, .data = table({relocation(24, 4, 3)}), .link = symtab,
               .info = socket, .entsize = sizeof(Elf64_Rel)});
    image.layout();
    return image;
}

/// The detail of the InvalidArgument error parsing `bytes` must give.
std::string refusal(std::span<const std::byte> bytes) {
    const auto parsed = File::parse(bytes);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().kind() == ErrorKind::InvalidArgument);
    CHECK(parsed.error().operation() == "ELF object");
    return std::string(parsed.error().detail());
}

std::string refusal(const ElfImage& image) { return refusal(image.bytes()); }

std::vector<std::byte> clang_object() {
    std::ifstream file(SOCKFILTER_TEST_BPF_DIR "/elf_basic.bpf.o", std::ios::binary);
    REQUIRE(file);
    std::vector<char> chars{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    REQUIRE(bytes.size() > sizeof(Elf64_Ehdr));
    return bytes;
}

Elf64_Ehdr header_of(std::span<const std::byte> bytes) {
    Elf64_Ehdr header;
    std::memcpy(&header, bytes.data(), sizeof header);
    return header;
}

/// What parse() promises about a File it returns: spans inside the input, indexes checked.
bool keeps_its_promises(const File& file, std::span<const std::byte> bytes) {
    const auto sections = file.sections();
    for (const Section& section : sections) {
        if (section.data.empty()) continue;
        if (section.data.data() < bytes.data() || section.data.data() + section.data.size() > bytes.data() + bytes.size())
            return false;
    }
    for (const Symbol& symbol : file.symbols())
        if (symbol.section >= sections.size() && symbol.section != SHN_ABS && symbol.section != SHN_COMMON) return false;
    for (std::uint32_t target = 0; target < sections.size(); ++target)
        for (const Relocation& relocation : file.relocations_for(target))
            if (relocation.symbol >= file.symbols().size() || relocation.offset >= sections[target].size) return false;
    return true;
}

const Symbol* find_symbol(const File& file, std::string_view name) {
    for (const Symbol& symbol : file.symbols())
        if (symbol.name == name) return &symbol;
    return nullptr;
}

}  // namespace

TEST_CASE("elf parses a built object") {
    const auto bytes = sample().bytes();
    const auto file = File::parse(bytes);
    REQUIRE(file.has_value());

    const auto sections = file->sections();
    REQUIRE(sections.size() == count);
    CHECK(sections[0].name.empty());
    CHECK(sections[0].data.empty());
    CHECK(sections[socket].name == "socket");
    CHECK(sections[socket].index == socket);
    CHECK(sections[socket].flags == (SHF_ALLOC | SHF_EXECINSTR));
    CHECK(sections[socket].data.size() == 32);
    CHECK(sections[socket].data[0] == std::byte{0x11});
    CHECK(sections[text].data[15] == std::byte{0x22});
    CHECK(sections[bss].type == SHT_NOBITS);
    CHECK(sections[bss].size == 64);
    CHECK(sections[bss].data.empty());
    CHECK(sections[symtab].link == strtab);
    CHECK(sections[shstrtab].name == ".shstrtab");
    REQUIRE(file->find_section(".text") == &sections[text]);
    CHECK(file->find_section(".data") == nullptr);

    const auto symbols = file->symbols();
    REQUIRE(symbols.size() == 5);
    CHECK(symbols[1].type == STT_SECTION);
    CHECK(symbols[1].name.empty());
    CHECK(symbols[1].section == text);
    CHECK(symbols[2].name == "keep");
    CHECK(symbols[2].index == 2);
    CHECK(symbols[2].type == STT_FUNC);
    CHECK(symbols[2].bind == STB_GLOBAL);
    CHECK(symbols[2].size == 32);
    CHECK(symbols[4].section == SHN_ABS);
    CHECK(symbols[4].value == 7);

    // Both REL sections for 'socket', in file order.
    const auto for_socket = file->relocations_for(socket);
    REQUIRE(for_socket.size() == 3);
    CHECK(for_socket[0].offset == 8);
    CHECK(for_socket[0].symbol == 1);
    CHECK(for_socket[0].type == 10);
    CHECK(for_socket[1].offset == 16);
    CHECK(for_socket[1].symbol == 2);
    CHECK(for_socket[2].offset == 24);
    CHECK(for_socket[2].type == 3);
    REQUIRE(file->relocations_for(text).size() == 1);
    CHECK(file->relocations_for(text)[0].symbol == 3);
    CHECK(file->relocations_for(bss).empty());
    CHECK(file->relocations_for(12345).empty());
    CHECK(keeps_its_promises(*file, bytes));
}

TEST_CASE("elf parses a clang object") {
    const auto bytes = clang_object();
    const auto file = File::parse(bytes);
    REQUIRE(file.has_value());

    for (const char* name : {"socket", ".text", ".maps", ".rodata", "license", ".BTF", ".BTF.ext", ".symtab", ".strtab"}) {
        INFO(name);
        CHECK(file->find_section(name) != nullptr);
    }
    const Section& socket_section = *file->find_section("socket");
    const Section& text_section = *file->find_section(".text");
    CHECK(socket_section.type == SHT_PROGBITS);
    CHECK((socket_section.flags & SHF_EXECINSTR) != 0);
    CHECK(socket_section.size % 8 == 0);
    CHECK(socket_section.data.size() == socket_section.size);
    const Section& license = *file->find_section("license");
    REQUIRE(license.data.size() == 4);
    CHECK(std::memcmp(license.data.data(), "GPL", 4) == 0);

    const Symbol* keep = find_symbol(*file, "keep");
    REQUIRE(keep != nullptr);
    CHECK(keep->type == STT_FUNC);
    CHECK(keep->bind == STB_GLOBAL);
    CHECK(keep->section == socket_section.index);
    CHECK(keep->value == 0);
    CHECK(keep->size == socket_section.size);
    const Symbol* clamp = find_symbol(*file, "clamp");
    REQUIRE(clamp != nullptr);
    CHECK(clamp->type == STT_FUNC);
    CHECK(clamp->section == text_section.index);
    const Symbol* lengths = find_symbol(*file, "lengths");
    REQUIRE(lengths != nullptr);
    CHECK(lengths->section == file->find_section(".maps")->index);
    const Symbol* snap_length = find_symbol(*file, "snap_length");
    REQUIRE(snap_length != nullptr);
    CHECK(snap_length->section == file->find_section(".rodata")->index);

    // 'socket' loads the map's address (R_BPF_64_64) and calls into .text (R_BPF_64_32), in file order.
    const auto relocations = file->relocations_for(socket_section.index);
    REQUIRE(relocations.size() == 2);
    CHECK(relocations[0].offset < relocations[1].offset);
    CHECK(relocations[0].type == 1);
    CHECK(file->symbols()[relocations[0].symbol].name == "lengths");
    CHECK(relocations[1].type == 10);
    CHECK(file->symbols()[relocations[1].symbol].section == text_section.index);
    for (const Relocation& relocation : relocations) CHECK(relocation.offset % 8 == 0);
    // .text reads the .rodata global.
    const auto from_text = file->relocations_for(text_section.index);
    REQUIRE(from_text.size() == 1);
    CHECK(file->symbols()[from_text[0].symbol].section == file->find_section(".rodata")->index);
    CHECK(keeps_its_promises(*file, bytes));
}

TEST_CASE("elf refuses empty and random input") {
    CHECK_THAT(refusal(std::span<const std::byte>{}), Contains("the input is empty (0 bytes)"));
    std::vector<std::byte> random(4096);
    std::uint32_t state = 12345;
    for (std::byte& byte : random) {
        state = state * 1103515245U + 12345U;
        byte = static_cast<std::byte>(state >> 24U);
    }
    CHECK_THAT(refusal(random), Contains("not an ELF file"));
    CHECK_THAT(refusal(std::span(random).first(10)), Contains("truncated ELF header: 10 bytes, expected at least 64"));
}

TEST_CASE("elf refuses every truncation of a clang object") {
    const auto bytes = clang_object();
    const auto header = header_of(bytes);
    // clang writes the section header table last, so every shorter prefix cuts it (or more).
    REQUIRE(header.e_shoff + std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr) == bytes.size());
    std::size_t refused = 0;
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        const auto parsed = File::parse(std::span(bytes).first(length));
        if (!parsed && parsed.error().kind() == ErrorKind::InvalidArgument) ++refused;
    }
    CHECK(refused == bytes.size());
    CHECK_THAT(refusal(std::span(bytes).first(63)), Contains("truncated ELF header: 63 bytes"));
    CHECK_THAT(refusal(std::span(bytes).first(bytes.size() - 1)), Contains("runs past the end of the input"));
}

TEST_CASE("elf refuses the wrong class endianness machine and type") {
    ElfImage image = sample();
    image.header.e_ident[EI_MAG1] = 'X';
    CHECK_THAT(refusal(image), Contains("not an ELF file"));

    image = sample();
    image.header.e_ident[EI_CLASS] = ELFCLASS32;
    CHECK_THAT(refusal(image), Contains("class is 1 (ELFCLASS32), expected ELFCLASS64 (2)"));

    image = sample();
    image.header.e_ident[EI_DATA] = ELFDATA2MSB;
    CHECK_THAT(refusal(image), Contains("data encoding is 2 (ELFDATA2MSB, big-endian), expected ELFDATA2LSB (1)"));

    image = sample();
    image.header.e_ident[EI_VERSION] = 0;
    CHECK_THAT(refusal(image), Contains("ELF version is 0, expected EV_CURRENT (1)"));

    image = sample();
    image.header.e_machine = EM_X86_64;
    CHECK_THAT(refusal(image), Contains("machine is 62 (x86-64), expected EM_BPF (247): compile with clang -target bpf"));

    image = sample();
    image.header.e_type = ET_EXEC;
    CHECK_THAT(refusal(image), Contains("type is 2 (ET_EXEC, an executable), expected ET_REL (1)"));
    image.header.e_type = ET_DYN;
    CHECK_THAT(refusal(image), Contains("type is 3 (ET_DYN"));
}

TEST_CASE("elf refuses bad section header tables") {
    ElfImage image = sample();
    image.header.e_shentsize = 40;
    CHECK_THAT(refusal(image), Contains("e_shentsize is 40, expected 64"));

    image = sample();
    image.header.e_shoff = image.bytes().size();
    CHECK_THAT(refusal(image), Contains("the section header table (e_shoff"));
    CHECK_THAT(refusal(image), Contains("runs past the end of the input"));
    image.header.e_shoff = 0xffffffffffffffff;
    CHECK_THAT(refusal(image), Contains("e_shoff 18446744073709551615, e_shnum 10"));
    image.header.e_shoff = 0xffffffffffffffc0;  // + 640 bytes wraps around to 0x240
    CHECK_THAT(refusal(image), Contains("runs past the end of the input"));

    image = sample();
    image.header.e_shnum = 0xfeff;
    CHECK_THAT(refusal(image), Contains("e_shnum 65279"));

    image = sample();
    image.header.e_shnum = 0;
    CHECK_THAT(refusal(image), Contains("extended section numbering"));
    image.header.e_shoff = 0;
    CHECK_THAT(refusal(image), Contains("there is no section header table"));

    image = sample();
    image.header.e_shstrndx = count;
    CHECK_THAT(refusal(image), Contains("e_shstrndx 10 is not below the section count e_shnum (10)"));
    image.header.e_shstrndx = SHN_XINDEX;
    CHECK_THAT(refusal(image), Contains("e_shstrndx is SHN_XINDEX: extended section numbering is not supported"));
    image.header.e_shstrndx = SHN_UNDEF;
    CHECK_THAT(refusal(image), Contains("there is no section name table"));
    image.header.e_shstrndx = symtab;
    CHECK_THAT(refusal(image), Contains("section 5 (the section name table, e_shstrndx): type is 2, expected SHT_STRTAB (3)"));

    image = sample();
    image.section_headers[0].sh_type = SHT_PROGBITS;
    CHECK_THAT(refusal(image), Contains("section 0: type is 1, expected SHT_NULL (0)"));
}

TEST_CASE("elf refuses sections outside the input") {
    ElfImage image = sample();
    const std::uint64_t size = image.bytes().size();
    image.section_headers[socket].sh_offset = size + 1;
    CHECK_THAT(refusal(image), Contains("section 'socket' (index 1): offset " + std::to_string(size + 1) +
                                        " is past the end of the input (" + std::to_string(size) + " bytes)"));

    image = sample();
    image.section_headers[socket].sh_size = 0xffffffffffffffff;
    CHECK_THAT(refusal(image), Contains("section 'socket' (index 1): size 18446744073709551615 at offset 64 runs past the end"));
    image.section_headers[socket].sh_offset = 0xffffffffffffffff;
    image.section_headers[socket].sh_size = 2;
    CHECK_THAT(refusal(image), Contains("section 'socket' (index 1): offset 18446744073709551615 is past the end"));
    image.section_headers[socket].sh_offset = size - 4;
    image.section_headers[socket].sh_size = 8;
    CHECK_THAT(refusal(image), Contains("section 'socket' (index 1): size 8 at offset"));

    image = sample();
    image.section_headers[shstrtab].sh_size = 0xffffffffffffffff;
    CHECK_THAT(refusal(image), Contains("section 9 (the section name table, e_shstrndx): size 18446744073709551615"));

    // SHT_NOBITS has no bytes in the file: any offset and size are fine.
    image = sample();
    image.section_headers[bss].sh_offset = 0xffffffffffffffff;
    image.section_headers[bss].sh_size = 0xffffffffffffffff;
    const auto bytes = image.bytes();
    const auto file = File::parse(bytes);
    REQUIRE(file.has_value());
    CHECK(file->sections()[bss].size == 0xffffffffffffffff);
    CHECK(file->sections()[bss].data.empty());
}

TEST_CASE("elf refuses unterminated names") {
    // The last name in .shstrtab is its own: without its NUL the section is named by index.
    ElfImage image = sample();
    image.section_contents(shstrtab).back() = std::byte{'x'};
    CHECK_THAT(refusal(image), Contains("section 9: name at offset"));
    CHECK_THAT(refusal(image), Contains("is not NUL-terminated inside the section name table"));

    image = sample();
    image.section_headers[socket].sh_name = 10000;
    CHECK_THAT(refusal(image), Contains("section 1: name offset 10000 is outside the section name table (size"));

    // The last name in .strtab is symbol 4's.
    image = sample();
    image.section_contents(strtab).back() = std::byte{'x'};
    CHECK_THAT(refusal(image), Contains("section '.symtab' (index 5), symbol 4: name at offset 13 is not NUL-terminated "
                                        "inside section '.strtab' (index 4)"));

    image = sample();
    image.section_contents(symtab)[2 * sizeof(Elf64_Sym)] = std::byte{0x7f};  // st_name of symbol 2
    CHECK_THAT(refusal(image), Contains("section '.symtab' (index 5), symbol 2: name offset 127 is outside "
                                        "section '.strtab' (index 4) (size 21)"));
}

TEST_CASE("elf refuses bad symbol tables") {
    ElfImage image = sample();
    image.section_headers[symtab].sh_entsize = 16;
    CHECK_THAT(refusal(image), Contains("section '.symtab' (index 5): entry size sh_entsize is 16, expected 24"));

    image = sample();
    image.section_headers[symtab].sh_size -= 1;
    CHECK_THAT(refusal(image), Contains("section '.symtab' (index 5): size 119 is not a multiple of the entry size 24"));

    image = sample();
    image.section_headers[symtab].sh_link = 99;
    CHECK_THAT(refusal(image), Contains("section '.symtab' (index 5): sh_link 99 (its string table) is not below the section count (10)"));
    image.section_headers[symtab].sh_link = socket;
    CHECK_THAT(refusal(image), Contains("sh_link points at section 'socket' (index 1) of type 1, expected SHT_STRTAB (3)"));

    const auto with_section_index = [](std::uint16_t index) {
        ElfImage broken = sample();
        std::memcpy(broken.section_contents(symtab).data() + 2 * sizeof(Elf64_Sym) + offsetof(Elf64_Sym, st_shndx), &index,
                    sizeof index);
        return broken;
    };
    CHECK_THAT(refusal(with_section_index(count)),
               Contains("section '.symtab' (index 5), symbol 2 'keep': section index 10 is not below the section count (10)"));
    CHECK_THAT(refusal(with_section_index(0xff01)), Contains("symbol 2 'keep': section index 65281 is reserved"));
    CHECK_THAT(refusal(with_section_index(SHN_XINDEX)), Contains("symbol 2 'keep': section index 65535 (SHN_XINDEX)"));
    const auto common = with_section_index(SHN_COMMON).bytes();
    REQUIRE(File::parse(common).has_value());
    CHECK(File::parse(common)->symbols()[2].section == SHN_COMMON);

    image = sample();
    image.section_headers[rel_text].sh_type = SHT_SYMTAB;
    CHECK_THAT(refusal(image), Contains("section '.rel.text' (index 7) is a second SHT_SYMTAB (the first is section "
                                        "'.symtab' (index 5))"));
}

TEST_CASE("elf refuses bad relocation sections") {
    ElfImage image = sample();
    image.section_headers[rel_socket].sh_entsize = 24;
    CHECK_THAT(refusal(image), Contains("section '.relsocket' (index 6): entry size sh_entsize is 24, expected 16"));

    image = sample();
    image.section_headers[rel_socket].sh_size = 24;
    CHECK_THAT(refusal(image), Contains("section '.relsocket' (index 6): size 24 is not a multiple of the entry size 16"));

    image = sample();
    image.section_headers[rel_socket].sh_info = count;
    CHECK_THAT(refusal(image), Contains("section '.relsocket' (index 6): target section sh_info 10 is out of range, expected 1 to 9"));
    image.section_headers[rel_socket].sh_info = 0;
    CHECK_THAT(refusal(image), Contains("target section sh_info 0 is out of range"));

    image = sample();
    image.section_headers[rel_text].sh_link = strtab;
    CHECK_THAT(refusal(image), Contains("section '.rel.text' (index 7): sh_link 4 is not the symbol table (section 5)"));

    image = sample();
    image.section_headers[symtab].sh_type = SHT_PROGBITS;
    CHECK_THAT(refusal(image), Contains("section '.relsocket' (index 6): relocations, but the object has no SHT_SYMTAB"));

    image = sample();
    image.section_headers[rel_text].sh_type = SHT_RELA;
    CHECK_THAT(refusal(image), Contains("section '.rel.text' (index 7) is SHT_RELA"));

    image = sample();
    auto entries = image.section_contents(rel_socket);
    const Elf64_Rel out_of_range = relocation(16, 5, 1);
    std::memcpy(entries.data() + sizeof(Elf64_Rel), &out_of_range, sizeof out_of_range);
    CHECK_THAT(refusal(image), Contains("section '.relsocket' (index 6), relocation 1: symbol index 5 is out of range "
                                        "(the symbol table has 5 symbols)"));

    image = sample();
    entries = image.section_contents(rel_socket_more);
    const Elf64_Rel past_the_end = relocation(32, 4, 3);
    std::memcpy(entries.data(), &past_the_end, sizeof past_the_end);
    CHECK_THAT(refusal(image), Contains("section '.relsocket.more' (index 8), relocation 0: offset 32 is outside target "
                                        "section 'socket' (index 1) of size 32"));
}

TEST_CASE("elf survives a byte flip sweep over a clang object") {
    const auto original = clang_object();
    const auto header = header_of(original);
    const auto file = File::parse(original);
    REQUIRE(file.has_value());

    // The ELF header, the section header table, and the bytes of the symbol table and every REL section.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> regions{
        {0, sizeof(Elf64_Ehdr)}, {header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr)}};
    for (const Section& section : file->sections())
        if (section.type == SHT_SYMTAB || section.type == SHT_REL)
            regions.emplace_back(static_cast<std::uint64_t>(section.data.data() - original.data()), section.data.size());

    std::size_t parsed = 0;
    std::size_t refused = 0;
    std::size_t broken_promises = 0;
    auto bytes = original;
    for (const auto& [start, size] : regions) {
        for (std::uint64_t at = start; at < start + size; ++at) {
            const std::byte kept = bytes[at];
            bytes[at] = kept == std::byte{0xff} ? std::byte{0} : std::byte{0xff};
            if (const auto flipped = File::parse(bytes)) {
                ++parsed;
                if (!keeps_its_promises(*flipped, bytes)) ++broken_promises;
            } else {
                ++refused;
                if (flipped.error().kind() != ErrorKind::InvalidArgument || flipped.error().detail().empty()) ++broken_promises;
            }
            bytes[at] = kept;
        }
    }
    INFO("parsed " << parsed << ", refused " << refused);
    CHECK(broken_promises == 0);
    CHECK(refused > 0);
    CHECK(parsed > 0);
}
