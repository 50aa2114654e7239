// Malformed objects: every damaged input to Object::open/from_bytes is a clear InvalidArgument (or
// NotFound for a missing file) naming what is wrong — never a crash, an out-of-bounds read or a success.
// Pure parsing: no privileges needed. Run under ASan/UBSan too.
#include <catch2/catch.hpp>
#include <elf.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "loaded.hpp"
#include "objects.hpp"
#include "sockfilter/object.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

std::vector<std::byte> bytes_of(std::string_view stem) {
    std::ifstream file(object_path(stem), std::ios::binary);
    const std::vector<char> chars((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    REQUIRE(!chars.empty());
    const auto bytes = std::as_bytes(std::span(chars));
    return {bytes.begin(), bytes.end()};
}

// Reading and writing the ELF structures of a test object in place (the test's own view, not the library's).
class Image {
public:
    explicit Image(std::string_view stem) : bytes_(bytes_of(stem)) {}

    template <typename T>
    T read(std::size_t at) const {
        T value;
        std::memcpy(&value, bytes_.data() + at, sizeof value);
        return value;
    }
    template <typename T>
    void write(std::size_t at, const T& value) {
        std::memcpy(bytes_.data() + at, &value, sizeof value);
    }

    Elf64_Ehdr header() const { return read<Elf64_Ehdr>(0); }
    std::size_t section_header_at(std::size_t index) const { return header().e_shoff + index * sizeof(Elf64_Shdr); }
    Elf64_Shdr section(std::size_t index) const { return read<Elf64_Shdr>(section_header_at(index)); }

    std::string section_name(std::size_t index) const {
        const Elf64_Shdr names = section(header().e_shstrndx);
        return reinterpret_cast<const char*>(bytes_.data() + names.sh_offset + section(index).sh_name);
    }
    std::size_t find(std::string_view name) const {
        for (std::size_t i = 1; i < header().e_shnum; ++i) {
            if (section_name(i) == name) return i;
        }
        FAIL("no section " << name);
        return 0;
    }
    // The file offset of the first relocation that applies to section `target`.
    std::size_t first_relocation_for(std::size_t target) const {
        for (std::size_t i = 1; i < header().e_shnum; ++i) {
            const Elf64_Shdr rel = section(i);
            if (rel.sh_type == SHT_REL && rel.sh_info == target && rel.sh_size >= sizeof(Elf64_Rel)) return rel.sh_offset;
        }
        FAIL("no relocations for section " << target);
        return 0;
    }

    Result<Object> parse() const { return Object::from_bytes(bytes_); }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// Pages of this process in memory (the second field of /proc/self/statm).
long resident_pages() {
    std::ifstream statm("/proc/self/statm");
    long size = 0;
    long resident = 0;
    statm >> size >> resident;
    return resident;
}

// The object fails to parse with InvalidArgument and a message containing every one of `needles`.
void check_refused(const Image& image, std::initializer_list<std::string_view> needles) {
    const auto parsed = image.parse();
    REQUIRE_FALSE(parsed.has_value());
    INFO(parsed.error().message());
    CHECK(parsed.error().kind() == ErrorKind::InvalidArgument);
    for (const auto needle : needles) CHECK(contains(parsed.error().message(), needle));
}

}  // namespace

TEST_CASE("malformed empty missing and random inputs") {
    const auto empty = Object::from_bytes({});
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().kind() == ErrorKind::InvalidArgument);
    CHECK(empty.error().operation() == "ELF object");

    const auto missing = Object::open(object_path("no_such_object"));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().kind() == ErrorKind::NotFound);
    CHECK(contains(missing.error().message(), "no_such_object.bpf.o"));

    const auto directory = Object::open(SOCKFILTER_TEST_BPF_DIR);
    CHECK_FALSE(directory.has_value());

    std::mt19937 random(20261129);
    for (int round = 0; round < 2000; ++round) {
        std::vector<std::byte> noise(static_cast<std::size_t>(random() % 4096));
        for (auto& byte : noise) byte = static_cast<std::byte>(random());
        if (round % 2 == 0 && noise.size() >= 4) std::memcpy(noise.data(), ELFMAG, SELFMAG);  // past the magic check
        CHECK_FALSE(Object::from_bytes(noise).has_value());
    }
}

TEST_CASE("malformed every truncation of a real object") {
    for (const char* stem : {"subprograms", "port_filter"}) {
        const std::vector<std::byte> whole = bytes_of(stem);
        REQUIRE(Object::from_bytes(whole).has_value());
        int refused = 0;
        for (std::size_t size = 0; size < whole.size(); ++size) {
            const auto parsed = Object::from_bytes(std::span(whole).first(size));
            if (!parsed) {
                ++refused;
                CHECK(parsed.error().kind() == ErrorKind::InvalidArgument);
            }
        }
        CHECK(refused == static_cast<int>(whole.size()));
    }
}

TEST_CASE("malformed headers and section bounds") {
    Image machine("subprograms");
    machine.write<std::uint16_t>(offsetof(Elf64_Ehdr, e_machine), EM_X86_64);
    check_refused(machine, {"EM_BPF"});

    Image offset("subprograms");
    const std::size_t socket = offset.find("socket");
    offset.write<Elf64_Off>(offset.section_header_at(socket) + offsetof(Elf64_Shdr, sh_offset), offset.bytes().size());
    check_refused(offset, {"socket"});

    Image size("subprograms");
    size.write<Elf64_Xword>(size.section_header_at(size.find(".text")) + offsetof(Elf64_Shdr, sh_size), ~Elf64_Xword{0});
    check_refused(size, {".text"});
}

TEST_CASE("malformed relocations") {
    // A relocation past the end of its section.
    Image outside("subprograms");
    const std::size_t socket = outside.find("socket");
    const std::size_t first = outside.first_relocation_for(socket);
    outside.write<Elf64_Addr>(first + offsetof(Elf64_Rel, r_offset), outside.section(socket).sh_size + 8);
    check_refused(outside, {"socket"});

    // A relocation moved onto an instruction that is neither a call nor an ld_imm64.
    Image misplaced("proto_count");
    const std::size_t program = misplaced.find("socket");
    misplaced.write<Elf64_Addr>(misplaced.first_relocation_for(program) + offsetof(Elf64_Rel, r_offset), 0);
    check_refused(misplaced, {"not an ld_imm64", "socket"});

    // A map reference whose symbol is undefined.
    Image undefined("proto_count");
    const std::size_t at = undefined.first_relocation_for(undefined.find("socket"));
    const auto info = undefined.read<Elf64_Xword>(at + offsetof(Elf64_Rel, r_info));
    undefined.write<Elf64_Xword>(at + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(0, ELF64_R_TYPE(info)));
    check_refused(undefined, {"does not define"});

    // A relocation naming a symbol beyond the symbol table.
    Image beyond("proto_count");
    const std::size_t beyond_at = beyond.first_relocation_for(beyond.find("socket"));
    beyond.write<Elf64_Xword>(beyond_at + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(0xffffff, R_BPF_64_64));
    check_refused(beyond, {"symbol"});
}

TEST_CASE("malformed calls and missing license") {
    // A call whose target is moved into the middle of a function.
    Image call("subprograms");
    const std::size_t socket = call.find("socket");
    const Elf64_Shdr code = call.section(socket);
    bool moved = false;
    for (std::size_t offset = 0; offset + 8 <= code.sh_size && !moved; offset += 8) {
        const std::size_t at = code.sh_offset + offset;
        if (call.read<std::uint8_t>(at) == (BPF_JMP | BPF_CALL) && (call.read<std::uint8_t>(at + 1) >> 4) == BPF_PSEUDO_CALL) {
            call.write<std::int32_t>(at + 4, call.read<std::int32_t>(at + 4) + 1);
            moved = true;
        }
    }
    REQUIRE(moved);
    check_refused(call, {"where no function starts"});

    // No license section: the object loads as "GPL" (as Aya does).
    Image unlicensed("subprograms");
    const std::size_t license = unlicensed.find("license");
    const Elf64_Shdr names = unlicensed.section(unlicensed.header().e_shstrndx);
    unlicensed.write<char>(names.sh_offset + unlicensed.section(license).sh_name, 'L');
    const auto parsed = unlicensed.parse();
    REQUIRE(parsed.has_value());
    CHECK(parsed->license() == "GPL");

    // Damaged BTF is refused (BTF-defined maps cannot be read without it).
    Image btf("proto_count");
    btf.write<std::uint16_t>(btf.section(btf.find(".BTF")).sh_offset, 0x1234);
    const auto refused = btf.parse();
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().kind() == ErrorKind::InvalidArgument);
    CHECK(contains(refused.error().message(), "BTF"));
}

// Found by the object fuzzer (test/fuzz/corpus/object/crash-license-nobits): a license section of type
// SHT_NOBITS has no bytes in the file, and its text was read with strnlen on a null pointer (UBSan). It is
// an empty license now, as an empty PROGBITS license section is.
TEST_CASE("malformed license section without bytes") {
    Image nobits("port_filter");
    const std::size_t license = nobits.find("license");
    nobits.write<Elf64_Word>(nobits.section_header_at(license) + offsetof(Elf64_Shdr, sh_type), SHT_NOBITS);
    const auto parsed = nobits.parse();
    REQUIRE(parsed.has_value());
    CHECK(parsed->license().empty());

    Image empty("port_filter");
    empty.write<Elf64_Xword>(empty.section_header_at(empty.find("license")) + offsetof(Elf64_Shdr, sh_size), 0);
    const auto parsed_empty = empty.parse();
    REQUIRE(parsed_empty.has_value());
    CHECK(parsed_empty->license().empty());
}

TEST_CASE("malformed a huge bss is not allocated while parsing") {
    Image huge("port_filter");
    const std::size_t bss = huge.find(".bss");
    huge.write<Elf64_Xword>(huge.section_header_at(bss) + offsetof(Elf64_Shdr, sh_size), 1560281120);
    const long before = resident_pages();
    const auto parsed = huge.parse();  // a view and a size: nothing the size of the section is allocated
    INFO(message_of(parsed));
    REQUIRE(parsed.has_value());
    CHECK((resident_pages() - before) * sysconf(_SC_PAGESIZE) < 64L * 1024 * 1024);
    bool found = false;
    for (const auto& spec : parsed->map_specs()) {
        if (spec.name == ".bss") found = spec.value_size == 1560281120U;
    }
    CHECK(found);
}

TEST_CASE("malformed two global data sections of one name") {
    // Found by the object fuzzer: a second section named ".data" made a second map ".data", which
    // Object::map(".data") could never reach.
    Image twice("port_filter");
    const Elf64_Word data_name = twice.section(twice.find(".data")).sh_name;
    twice.write<Elf64_Word>(twice.section_header_at(twice.find(".bss")) + offsetof(Elf64_Shdr, sh_name), data_name);
    check_refused(twice, {"two maps are named '.data'", "names of their own"});
}

TEST_CASE("malformed two programs of one name") {
    Image twice("subprograms");
    const auto original = twice.parse();
    REQUIRE(original.has_value());
    REQUIRE(original->programs().size() >= 2);
    const std::string first(original->programs()[0].name);
    const std::string second(original->programs()[1].name);
    // The second program's symbol takes the first one's name (the symbol table's name offset).
    std::size_t symtab = 0;
    for (std::size_t i = 1; i < twice.header().e_shnum; ++i) {
        if (twice.section(i).sh_type == SHT_SYMTAB) symtab = i;
    }
    REQUIRE(symtab != 0);
    const Elf64_Shdr table = twice.section(symtab);
    const Elf64_Shdr strings = twice.section(table.sh_link);
    auto name_of = [&](const Elf64_Sym& symbol) {
        return std::string(reinterpret_cast<const char*>(twice.bytes().data() + strings.sh_offset + symbol.st_name));
    };
    std::optional<Elf64_Word> first_name;
    std::optional<std::size_t> second_at;
    for (std::size_t at = table.sh_offset; at + sizeof(Elf64_Sym) <= table.sh_offset + table.sh_size; at += sizeof(Elf64_Sym)) {
        const auto symbol = twice.read<Elf64_Sym>(at);
        if (name_of(symbol) == first) first_name = symbol.st_name;
        if (name_of(symbol) == second) second_at = at;
    }
    REQUIRE(first_name.has_value());
    REQUIRE(second_at.has_value());
    twice.write<Elf64_Word>(*second_at + offsetof(Elf64_Sym, st_name), *first_name);
    check_refused(twice, {"two programs are named '" + first + "'", "names of their own"});
}
