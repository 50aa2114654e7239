// The private BTF and BTF.ext reader (lib/btf.hpp): malformed blobs built in memory, then clang's own
// output from test/bpf/btf_maps.bpf.c, and the kernel's verdict on the fixed .BTF.
#include <catch2/catch.hpp>
#include <elf.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "btf.hpp"
#include "skip.hpp"

using namespace sockfilter;
using namespace sockfilter::detail::btf;
using Catch::Matchers::Contains;

namespace {

using Bytes = std::vector<std::byte>;

void put_u32(Bytes& out, std::uint32_t value) {
    const auto* raw = reinterpret_cast<const std::byte*>(&value);
    out.insert(out.end(), raw, raw + sizeof value);
}

void put_u16(Bytes& out, std::uint16_t value) {
    const auto* raw = reinterpret_cast<const std::byte*>(&value);
    out.insert(out.end(), raw, raw + sizeof value);
}

/// A tiny writer of .BTF blobs: types appended as raw words, strings interned, header fields overridable.
class BtfBuilder {
public:
    /// Header fields; unset area fields follow the built areas (types first, then strings).
    struct Header {
        std::uint16_t magic = BTF_MAGIC;
        std::uint8_t version = BTF_VERSION;
        std::uint8_t flags = 0;
        std::uint32_t hdr_len = sizeof(btf_header);
        std::optional<std::uint32_t> type_off{};
        std::optional<std::uint32_t> type_len{};
        std::optional<std::uint32_t> str_off{};
        std::optional<std::uint32_t> str_len{};
    };

    /// The offset of `text` in the string area (appended with its NUL).
    std::uint32_t str(std::string_view text) {
        if (text.empty()) return 0;
        const auto offset = static_cast<std::uint32_t>(strings_.size());
        strings_.append(text);
        strings_.push_back('\0');
        return offset;
    }
    /// Appends a record of `kind` with `vlen`, named `name`, and its trailing words; returns its type id.
    std::uint32_t add(std::uint32_t kind, std::uint32_t vlen, std::string_view name, std::uint32_t size_or_type,
                      std::initializer_list<std::uint32_t> trailing = {}) {
        words_.push_back(str(name));
        words_.push_back(kind << 24 | vlen);
        words_.push_back(size_or_type);
        words_.insert(words_.end(), trailing);
        return ++count_;
    }
    std::uint32_t int_type(std::string_view name, std::uint32_t size) {
        return add(BTF_KIND_INT, 0, name, size, {size * 8});
    }
    std::uint32_t ptr(std::uint32_t type) { return add(BTF_KIND_PTR, 0, "", type); }
    std::uint32_t array(std::uint32_t element, std::uint32_t index, std::uint32_t count) {
        return add(BTF_KIND_ARRAY, 0, "", 0, {element, index, count});
    }
    /// `int (*name)[value]`: the array and the pointer; returns the pointer.
    std::uint32_t uint_member(std::uint32_t int_id, std::uint32_t value) { return ptr(array(int_id, int_id, value)); }
    /// A struct of (name, type) members, 8 bytes apart.
    std::uint32_t struct_type(std::string_view name, std::vector<std::pair<std::string_view, std::uint32_t>> members) {
        std::vector<std::uint32_t> trailing;
        std::uint32_t offset = 0;
        for (const auto& [member, type] : members) {
            trailing.insert(trailing.end(), {str(member), type, offset});
            offset += 64;
        }
        words_.push_back(str(name));
        words_.push_back(BTF_KIND_STRUCT << 24 | static_cast<std::uint32_t>(members.size()));
        words_.push_back(offset / 8);
        words_.insert(words_.end(), trailing.begin(), trailing.end());
        return ++count_;
    }
    std::uint32_t var(std::string_view name, std::uint32_t type, std::uint32_t linkage = BTF_VAR_GLOBAL_ALLOCATED) {
        return add(BTF_KIND_VAR, 0, name, type, {linkage});
    }
    /// A DATASEC of (var, size) entries, offsets and size 0 as clang writes them.
    std::uint32_t datasec(std::string_view name, std::vector<std::pair<std::uint32_t, std::uint32_t>> vars) {
        words_.push_back(str(name));
        words_.push_back(BTF_KIND_DATASEC << 24 | static_cast<std::uint32_t>(vars.size()));
        words_.push_back(0);
        for (const auto& [var_id, size] : vars) words_.insert(words_.end(), {var_id, 0, size});
        return ++count_;
    }
    /// Replaces the string area with raw bytes (for unterminated strings).
    void raw_strings(std::string text) { strings_ = std::move(text); }

    Bytes build(const Header& header) const {
        Bytes out;
        const auto type_len = static_cast<std::uint32_t>(words_.size() * 4);
        put_u16(out, header.magic);
        out.push_back(std::byte{header.version});
        out.push_back(std::byte{header.flags});
        put_u32(out, header.hdr_len);
        put_u32(out, header.type_off.value_or(0));
        put_u32(out, header.type_len.value_or(type_len));
        put_u32(out, header.str_off.value_or(type_len));
        put_u32(out, header.str_len.value_or(static_cast<std::uint32_t>(strings_.size())));
        for (const std::uint32_t word : words_) put_u32(out, word);
        for (const char c : strings_) out.push_back(static_cast<std::byte>(c));
        return out;
    }
    Bytes build() const { return build(Header{}); }

private:
    std::vector<std::uint32_t> words_;
    std::string strings_{std::string(1, '\0')};
    std::uint32_t count_ = 0;
};

/// The detail of the error `result` must hold, after checking its kind and operation.
template <typename T>
std::string error_of(const Result<T>& result, ErrorKind kind = ErrorKind::InvalidArgument,
                     std::string_view operation = "BTF") {
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind() == kind);
    CHECK(result.error().operation() == operation);
    return std::string(result.error().detail());
}

std::string parse_error(const Bytes& bytes) { return error_of(Btf::parse(bytes)); }

/// The test's own minimal ELF64 reader: section contents by name, and symbol values (no checks beyond
/// what this test's well-formed clang output needs).
class TestElf {
public:
    explicit TestElf(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        REQUIRE(in.good());
        const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        bytes_.resize(raw.size());
        std::memcpy(bytes_.data(), raw.data(), raw.size());
        REQUIRE(bytes_.size() >= sizeof(Elf64_Ehdr));
        Elf64_Ehdr header{};
        std::memcpy(&header, bytes_.data(), sizeof header);
        REQUIRE(std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0);
        REQUIRE(header.e_shoff + std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr) <= bytes_.size());
        headers_.resize(header.e_shnum);
        std::memcpy(headers_.data(), bytes_.data() + header.e_shoff, header.e_shnum * sizeof(Elf64_Shdr));
        REQUIRE(header.e_shstrndx < headers_.size());
        names_ = headers_[header.e_shstrndx];
    }
    /// The index of section `name`, or 0.
    std::size_t index(std::string_view name) const {
        for (std::size_t i = 1; i < headers_.size(); ++i)
            if (string(names_, headers_[i].sh_name) == name) return i;
        return 0;
    }
    /// The bytes of section `name` (REQUIREd to exist).
    std::span<const std::byte> section(std::string_view name) const {
        const std::size_t i = index(name);
        REQUIRE(i != 0);
        REQUIRE(headers_[i].sh_offset + headers_[i].sh_size <= bytes_.size());
        return std::span(bytes_).subspan(headers_[i].sh_offset, headers_[i].sh_size);
    }
    /// sh_size of section `name`, or nullopt.
    std::optional<std::uint32_t> section_size(std::string_view name) const {
        const std::size_t i = index(name);
        if (i == 0) return std::nullopt;
        return static_cast<std::uint32_t>(headers_[i].sh_size);
    }
    /// st_value of the symbol `name` defined in section `section`, or nullopt.
    std::optional<std::uint32_t> symbol(std::string_view section, std::string_view name) const {
        const std::size_t symtab = index(".symtab");
        const std::size_t in_section = index(section);
        if (symtab == 0 || in_section == 0) return std::nullopt;
        const Elf64_Shdr& table = headers_[symtab];
        const Elf64_Shdr& strings = headers_[table.sh_link];
        for (std::size_t at = 0; at + sizeof(Elf64_Sym) <= table.sh_size; at += sizeof(Elf64_Sym)) {
            Elf64_Sym sym{};
            std::memcpy(&sym, bytes_.data() + table.sh_offset + at, sizeof sym);
            if (sym.st_shndx == in_section && string(strings, sym.st_name) == name)
                return static_cast<std::uint32_t>(sym.st_value);
        }
        return std::nullopt;
    }

private:
    std::string_view string(const Elf64_Shdr& table, std::uint32_t offset) const {
        return reinterpret_cast<const char*>(bytes_.data() + table.sh_offset + offset);
    }
    Bytes bytes_;
    std::vector<Elf64_Shdr> headers_;
    Elf64_Shdr names_{};
};

const TestElf& object() {
    static const TestElf elf(SOCKFILTER_TEST_BPF_DIR "/btf_maps.bpf.o");
    return elf;
}

/// The fixed .BTF of the test object, with the object's own section sizes and symbol values.
Result<Bytes> fixed_object_btf(const Btf& btf) {
    return btf.fixed_for_kernel([](std::string_view section) { return object().section_size(section); },
                                [](std::string_view section, std::string_view variable) {
                                    return object().symbol(section, variable);
                                });
}

/// A .BTF.ext header (24 bytes, or 32 with the CO-RE part) followed by `body`: func_info first for
/// `func_len` bytes, then line_info, then `core_len` bytes of CO-RE relocations.
Bytes ext_blob(const std::vector<std::uint32_t>& body, std::uint32_t func_len, std::uint32_t hdr_len = 24,
               std::uint32_t core_len = 0) {
    Bytes out;
    put_u16(out, 0xeb9f);
    out.push_back(std::byte{1});
    out.push_back(std::byte{0});
    put_u32(out, hdr_len);
    const auto body_len = static_cast<std::uint32_t>(body.size() * 4);
    for (const std::uint32_t word : {0u, func_len, func_len, body_len - func_len - core_len}) put_u32(out, word);
    if (hdr_len >= 32) {
        put_u32(out, body_len - core_len);
        put_u32(out, core_len);
    }
    while (out.size() < std::min<std::uint32_t>(hdr_len, 32)) out.push_back(std::byte{0});
    for (const std::uint32_t word : body) put_u32(out, word);
    return out;
}

}  // namespace

TEST_CASE("btf malformed headers are refused") {
    BtfBuilder b;
    b.int_type("int", 4);
    REQUIRE(Btf::parse(b.build()).has_value());
    CHECK_THAT(parse_error(Bytes(10)), Contains("header truncated"));
    CHECK_THAT(parse_error(b.build({.magic = 0x1234})), Contains("bad magic 0x1234"));
    CHECK_THAT(parse_error(b.build({.magic = 0x9feb})), Contains("other byte order"));
    CHECK_THAT(parse_error(b.build({.version = 2})), Contains("version 2"));
    CHECK_THAT(parse_error(b.build({.flags = 1})), Contains("flags 0x1"));
    CHECK_THAT(parse_error(b.build({.hdr_len = 8})), Contains("hdr_len 8"));
    CHECK_THAT(parse_error(b.build({.hdr_len = 4096})), Contains("hdr_len 4096"));
    CHECK_THAT(parse_error(b.build({.type_len = 400})), Contains("type area (offset 0, length 400) is outside"));
    CHECK_THAT(parse_error(b.build({.type_off = 0xfffffffc})), Contains("type area (offset 4294967292"));
    CHECK_THAT(parse_error(b.build({.str_off = 0xffffffff, .str_len = 2})), Contains("string area"));
    CHECK_THAT(parse_error(b.build({.type_len = 14})), Contains("not 4-byte aligned"));
    CHECK_THAT(parse_error(b.build({.str_off = 0})), Contains("overlap"));
    CHECK_THAT(parse_error(b.build({.str_len = 0})), Contains("string area does not begin with the empty string"));
}

TEST_CASE("btf malformed type records are refused") {
    SECTION("string offset out of range") {
        BtfBuilder b;
        b.add(BTF_KIND_PTR, 0, "", 0);
        auto bytes = b.build();
        bytes[24] = std::byte{200};  // name_off of type 1
        CHECK_THAT(parse_error(bytes), Contains("type 1 (PTR): name offset 200 is outside the string area"));
    }
    SECTION("unterminated string") {
        BtfBuilder b;
        b.add(BTF_KIND_FWD, 0, "fwd", 0);
        b.raw_strings(std::string("\0fwd", 4));
        CHECK_THAT(parse_error(b.build()), Contains("type 1 (FWD): name at offset 1 is not NUL-terminated"));
    }
    SECTION("member name out of range") {
        BtfBuilder b;
        const auto int_id = b.int_type("int", 4);
        b.add(BTF_KIND_STRUCT, 1, "s", 4, {999, int_id, 0});
        CHECK_THAT(parse_error(b.build()), Contains("type 2 (STRUCT) entry 0: name offset 999"));
    }
    SECTION("unknown kind") {
        BtfBuilder b;
        b.int_type("int", 4);
        b.add(25, 0, "", 0);
        CHECK_THAT(parse_error(b.build()), Contains("type 2: unknown kind 25"));
    }
    SECTION("type id reference out of range") {
        BtfBuilder b;
        b.ptr(99);
        CHECK_THAT(parse_error(b.build()), Contains("type 1 (PTR): its type refers to type 99, but there are only 2 types"));
    }
    SECTION("array and member references out of range") {
        BtfBuilder a;
        const auto int_id = a.int_type("int", 4);
        a.array(int_id, 7, 1);
        CHECK_THAT(parse_error(a.build()), Contains("type 2 (ARRAY): its index type refers to type 7"));
        BtfBuilder s;
        s.struct_type("s", {{"a", 1}, {"b", 50}});
        CHECK_THAT(parse_error(s.build()), Contains("type 1 (STRUCT): entry 1 refers to type 50"));
        BtfBuilder d;
        d.datasec(".data", {{3, 4}});
        CHECK_THAT(parse_error(d.build()), Contains("type 1 (DATASEC): entry 0 refers to type 3"));
    }
    SECTION("vlen overflowing the type area") {
        BtfBuilder b;
        const auto int_id = b.int_type("int", 4);
        b.add(BTF_KIND_STRUCT, 3, "s", 4, {0, int_id, 0});
        CHECK_THAT(parse_error(b.build()), Contains("type 2 (STRUCT): vlen 3 needs 36 bytes after the record, 12 left"));
        BtfBuilder e;
        e.add(BTF_KIND_ENUM64, 0xffff, "e", 8);
        CHECK_THAT(parse_error(e.build()), Contains("type 1 (ENUM64): vlen 65535 needs 786420 bytes"));
    }
    SECTION("record cut in the middle") {
        BtfBuilder b;
        b.int_type("int", 4);
        CHECK_THAT(parse_error(b.build({.type_len = 8})), Contains("type 1: record truncated (8 bytes left"));
    }
    SECTION("every kind with its trailing data") {
        BtfBuilder b;
        const auto i = b.int_type("int", 4);                                      // 1
        const auto p = b.ptr(i);                                                  // 2
        b.array(i, i, 3);                                                         // 3
        b.struct_type("s", {{"x", i}, {"y", p}});                                 // 4
        b.add(BTF_KIND_UNION, 1, "u", 4, {b.str("m"), i, 0});                     // 5
        b.add(BTF_KIND_ENUM, 2, "e", 4, {b.str("A"), 1, b.str("B"), 2});          // 6
        b.add(BTF_KIND_FWD, 0, "f", 0);                                           // 7
        b.add(BTF_KIND_TYPEDEF, 0, "t", i);                                       // 8
        b.add(BTF_KIND_VOLATILE, 0, "", 8);                                       // 9
        b.add(BTF_KIND_CONST, 0, "", 9);                                          // 10
        b.add(BTF_KIND_RESTRICT, 0, "", p);                                       // 11
        const auto proto = b.add(BTF_KIND_FUNC_PROTO, 2, "", i, {b.str("a"), i, 0, 0});  // 12
        b.add(BTF_KIND_FUNC, 0, "fn", proto);                                     // 13
        const auto v = b.var("v", 10);                                            // 14
        b.datasec(".data", {{v, 4}});                                             // 15
        b.add(BTF_KIND_FLOAT, 0, "float", 4);                                     // 16
        b.add(BTF_KIND_DECL_TAG, 0, "tag", v, {0xffffffff});                      // 17
        b.add(BTF_KIND_TYPE_TAG, 0, "tt", i);                                     // 18
        b.add(BTF_KIND_ENUM64, 1, "e64", 8, {b.str("C"), 1, 2});                  // 19
        const Bytes bytes = b.build();  // Btf views into it
        const auto btf = Btf::parse(bytes);
        REQUIRE(btf.has_value());
        CHECK(btf->type_count() == 20);
        CHECK(btf->type_size(10) == 4u);   // const volatile typedef int
        CHECK(btf->type_size(18) == 4u);   // type tag
        CHECK(btf->type_size(4) == 16u);
        CHECK(btf->type_size(3) == 12u);
        CHECK(btf->type_size(11) == 8u);   // restrict pointer
        CHECK(btf->type_size(16) == 4u);
        CHECK(btf->type_size(19) == 8u);
        CHECK(btf->string_at(1) == "int");
        CHECK_FALSE(btf->string_at(100000).has_value());
        CHECK_THAT(error_of(btf->type_size(0)), Contains("void"));
        CHECK_THAT(error_of(btf->type_size(13)), Contains("type 13 (FUNC) has no size"));
        CHECK_THAT(error_of(btf->type_size(7)), Contains("(FWD) has no size"));
        CHECK_THAT(error_of(btf->type_size(20)), Contains("type 20 does not exist"));
    }
}

TEST_CASE("btf type sizes with loops and overflows") {
    BtfBuilder b;
    b.add(BTF_KIND_TYPEDEF, 0, "a", 2);  // 1 → 2
    b.add(BTF_KIND_CONST, 0, "", 1);     // 2 → 1
    const auto i = b.int_type("int", 4);                // 3
    const auto huge = b.array(i, i, 0x40000000);        // 4: 4 GiB
    const auto nested = b.array(b.array(i, i, 0x10000), i, 0x10000);  // 6 → 5
    const auto self = b.array(7, i, 1);                 // 7: an array of itself
    const Bytes bytes = b.build();  // Btf views into it
    const auto btf = Btf::parse(bytes);
    REQUIRE(btf.has_value());
    CHECK_THAT(error_of(btf->type_size(1)), Contains("typedefs and modifiers in a row (a loop?)"));
    CHECK_THAT(error_of(btf->type_size(huge)), Contains("type 4 (ARRAY): 4294967296 bytes overflow 32 bits"));
    CHECK_THAT(error_of(btf->type_size(nested)), Contains("overflow 32 bits"));
    CHECK_THAT(error_of(btf->type_size(self)), Contains("nested more than 32 deep"));
    CHECK_THAT(error_of(btf->map_definition("loop", 1)), Contains("a loop?"));
}

TEST_CASE("btf map definitions from a built blob") {
    BtfBuilder b;
    const auto u32 = b.int_type("unsigned int", 4);
    const auto u64 = b.int_type("unsigned long long", 8);
    const auto good = b.struct_type("", {{"type", b.uint_member(u32, BPF_MAP_TYPE_HASH)},
                                         {"key", b.ptr(u64)},
                                         {"value_size", b.uint_member(u32, 32)},
                                         {"max_entries", b.uint_member(u32, 10)},
                                         {"numa_node", b.uint_member(u32, 1)},
                                         {"map_extra", b.ptr(b.add(BTF_KIND_ENUM64, 1, "", 8,
                                                                   {b.str("__unique_value0"), 5, 1}))}});
    const auto typedef_of_good = b.add(BTF_KIND_TYPEDEF, 0, "good_t", good);
    const auto values = b.struct_type("", {{"type", b.uint_member(u32, BPF_MAP_TYPE_ARRAY_OF_MAPS)}, {"values", b.ptr(u32)}});
    const auto unknown = b.struct_type("", {{"type", b.uint_member(u32, 1)}, {"colour", b.uint_member(u32, 1)}});
    const auto conflict = b.struct_type("", {{"key_size", b.uint_member(u32, 4)}, {"key", b.ptr(u64)}});
    const auto not_pointer = b.struct_type("", {{"max_entries", u32}});
    const auto not_array = b.struct_type("", {{"max_entries", b.ptr(u32)}});
    const auto void_key = b.struct_type("", {{"key", b.ptr(0)}});
    const auto too_big = b.struct_type("", {{"max_entries", b.ptr(b.add(BTF_KIND_ENUM64, 1, "", 8,
                                                                        {b.str("__unique_value1"), 0, 1}))}});
    const auto enum32 = b.struct_type("", {{"map_extra", b.ptr(b.add(BTF_KIND_ENUM, 1, "", 4, {b.str("v"), 77}))}});
    const Bytes bytes = b.build();  // Btf views into it
    const auto btf = Btf::parse(bytes);
    REQUIRE(btf.has_value());

    for (const auto id : {good, typedef_of_good}) {
        const auto map = btf->map_definition("good", id);
        REQUIRE(map.has_value());
        CHECK(map->type == BPF_MAP_TYPE_HASH);
        CHECK(map->key_size == 8u);
        CHECK(map->key_type_id == u64);
        CHECK(map->value_size == 32u);
        CHECK(map->value_type_id == 0u);
        CHECK(map->max_entries == 10u);
        CHECK(map->numa_node == 1u);
        CHECK(map->map_extra == 0x100000005u);
        CHECK_FALSE(map->map_flags.has_value());
        CHECK_FALSE(map->pinning.has_value());
    }
    CHECK(btf->map_definition("e", enum32)->map_extra == 77u);
    CHECK_THAT(error_of(btf->map_definition("inner", values), ErrorKind::NotSupported),
               Contains("map \"inner\": initial `values`"));
    CHECK_THAT(error_of(btf->map_definition("odd", unknown)), Contains("map \"odd\": unknown member \"colour\""));
    CHECK_THAT(error_of(btf->map_definition("c", conflict)), Contains("map \"c\": key_size 4 but __type(key) is 8 bytes"));
    CHECK_THAT(error_of(btf->map_definition("p", not_pointer)), Contains("member \"max_entries\" is not a pointer"));
    CHECK_THAT(error_of(btf->map_definition("a", not_array)), Contains("member \"max_entries\" does not point to an array"));
    CHECK_THAT(error_of(btf->map_definition("v", void_key)), Contains("member \"key\" points to a type without a size"));
    CHECK_THAT(error_of(btf->map_definition("t", too_big)), Contains("is 4294967296, more than 32 bits"));
    CHECK_THAT(error_of(btf->map_definition("i", u32)), Contains("map \"i\": type 1 is not a STRUCT"));
    CHECK_THAT(error_of(btf->map_definition("z", 0)), Contains("map \"z\": type 0 does not exist"));
}

TEST_CASE("btf fixed_for_kernel of a built blob") {
    BtfBuilder b;
    const auto i = b.int_type("int", 4);
    const auto x = b.var("x", i);
    const auto y = b.var("y", i);
    const auto s = b.var("s", i, BTF_VAR_STATIC);
    b.datasec(".data", {{x, 4}, {y, 4}, {s, 4}});
    const Bytes bytes = b.build();
    const auto btf = Btf::parse(bytes);
    REQUIRE(btf.has_value());
    std::map<std::string, std::uint32_t, std::less<>> offsets{{"x", 8}, {"y", 4}};
    std::vector<std::string> asked;
    const auto fixed = btf->fixed_for_kernel(
        [](std::string_view section) { return section == ".data" ? std::optional<std::uint32_t>(12) : std::nullopt; },
        [&](std::string_view, std::string_view variable) -> std::optional<std::uint32_t> {
            asked.emplace_back(variable);
            const auto found = offsets.find(variable);
            if (found == offsets.end()) return std::nullopt;
            return found->second;
        });
    REQUIRE(fixed.has_value());
    CHECK(asked == std::vector<std::string>{"x", "y"});  // the static variable keeps its offset
    CHECK(bytes.size() == fixed->size());
    const auto again = Btf::parse(*fixed);
    REQUIRE(again.has_value());
    const auto vars = again->datasec_variables(".data");
    REQUIRE(vars.has_value());
    REQUIRE(vars->size() == 3);  // sorted by offset, as the kernel wants them
    CHECK((*vars)[0].name == "s");
    CHECK((*vars)[0].offset == 0u);
    CHECK((*vars)[1].name == "y");
    CHECK((*vars)[1].offset == 4u);
    CHECK((*vars)[2].name == "x");
    CHECK((*vars)[2].offset == 8u);
    std::uint32_t size = 0;
    std::memcpy(&size, fixed->data() + 24 + 4 * 16 + 8, 4);  // the DATASEC's size field (after 4 records of 16 bytes)
    CHECK(size == 12u);

    const auto none = [](std::string_view) { return std::optional<std::uint32_t>(); };
    const auto zero = [](std::string_view, std::string_view) { return std::optional<std::uint32_t>(0); };
    CHECK_THAT(error_of(btf->fixed_for_kernel(none, zero)), Contains("DATASEC \".data\": the object has no section"));
    const auto twelve = [](std::string_view) { return std::optional<std::uint32_t>(12); };
    offsets.erase("y");
    CHECK_THAT(error_of(btf->fixed_for_kernel(twelve,
                                              [&](std::string_view, std::string_view v) -> std::optional<std::uint32_t> {
                                                  if (v == "y") return std::nullopt;
                                                  return 0;
                                              })),
               Contains("DATASEC \".data\": variable \"y\" has no symbol"));

    BtfBuilder k;
    const auto ki = k.int_type("int", 4);
    k.datasec(".kconfig", {{k.var("LINUX_KERNEL_VERSION", ki, BTF_VAR_GLOBAL_EXTERN), 4}});
    const Bytes kbytes = k.build();
    const auto kconfig = Btf::parse(kbytes);
    REQUIRE(kconfig.has_value());
    CHECK_THAT(error_of(kconfig->fixed_for_kernel(none, zero), ErrorKind::NotSupported), Contains(".kconfig"));
}

TEST_CASE("btf ext malformed areas are refused") {
    BtfBuilder b;
    b.int_type("int", 4);
    const auto sec = b.str("socket");
    const Bytes bytes = b.build();
    const auto btf = Btf::parse(bytes);
    REQUIRE(btf.has_value());
    const auto ext_error = [&](const Bytes& ext) { return error_of(Ext::parse(ext, *btf), ErrorKind::InvalidArgument, "BTF.ext"); };

    const Bytes good = ext_blob({8, sec, 1, 0, 1, 16, sec, 1, 8, 1, 2, 3}, 20);
    const auto ext = Ext::parse(good, *btf);
    INFO((ext ? std::string() : std::string(ext.error().detail())));
    REQUIRE(ext.has_value());
    CHECK(ext->func_info_record_size == 8u);
    CHECK(ext->line_info_record_size == 16u);
    REQUIRE(ext->sections.size() == 1);
    CHECK(ext->sections[0].section == "socket");
    REQUIRE(ext->sections[0].func_info.size() == 1);
    REQUIRE(ext->sections[0].line_info.size() == 1);
    CHECK(ext->sections[0].line_info[0].insn_offset == 8u);
    CHECK(ext->sections[0].line_info[0].record.size() == 16u);

    CHECK(ext->sections[0].core_relocation_count == 0u);

    // With the CO-RE part of the header: two relocations for "socket", one for ".text".
    const auto text = b.str(".text");
    const Bytes btf_with_text = b.build();
    const auto btf2 = Btf::parse(btf_with_text);
    REQUIRE(btf2.has_value());
    const auto core = Ext::parse(ext_blob({8, sec, 1, 0, 1, 16, sec, 1, 8, 1, 2, 3,
                                           16, sec, 2, 0, 1, 0, 0, 8, 1, 0, 0, text, 1, 0, 1, 0, 0},
                                          20, 32, 17 * 4),
                                 *btf2);
    INFO((core ? std::string() : std::string(core.error().detail())));
    REQUIRE(core.has_value());
    REQUIRE(core->sections.size() == 2);
    CHECK(core->sections[0].core_relocation_count == 2u);
    CHECK(core->sections[1].section == ".text");
    CHECK(core->sections[1].core_relocation_count == 1u);
    CHECK(core->sections[1].func_info.empty());
    CHECK_THAT(error_of(Ext::parse(ext_blob({8, sec, 1, 0, 1, 16, sec, 1, 8, 1, 2, 3, 8, sec, 1, 0, 0}, 20, 32, 5 * 4),
                                   *btf2),
                        ErrorKind::InvalidArgument, "BTF.ext"),
               Contains("core_relo: record size 8"));

    CHECK_THAT(ext_error(Bytes(good.begin(), good.begin() + 20)), Contains("header truncated"));
    Bytes bad_magic = good;
    bad_magic[0] = std::byte{0};
    CHECK_THAT(ext_error(bad_magic), Contains("bad magic"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 1, 0, 1}, 20, 4000)), Contains("hdr_len 4000"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 1, 0, 1}, 40)), Contains("func_info: area (offset 0, length 40)"));
    CHECK_THAT(ext_error(ext_blob({4, sec, 1, 0}, 16)), Contains("func_info: record size 4"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 1, 0, 1, 12, sec, 1, 0, 0, 0}, 20)), Contains("line_info: record size 12"));
    CHECK_THAT(ext_error(ext_blob({8, 5000, 1, 0, 1}, 20)), Contains("func_info: section name offset 5000"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 0}, 12)), Contains("func_info: section \"socket\" has no records"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 0xffffffff, 0, 1}, 20)),
               Contains("func_info: section \"socket\": 4294967295 records of 8 bytes, only 8 bytes left"));
    CHECK_THAT(ext_error(ext_blob({8, sec, 1, 0, 1, sec}, 24)), Contains("func_info: section header at offset 20 truncated"));
}

TEST_CASE("btf real object maps and datasecs") {
    const auto btf = Btf::parse(object().section(".BTF"));
    REQUIRE(btf.has_value());
    const auto maps = btf->datasec_variables(".maps");
    REQUIRE(maps.has_value());
    std::vector<std::string_view> names;
    for (const Variable& map : *maps) names.push_back(map.name);
    std::sort(names.begin(), names.end());  // clang's order is its own
    CHECK(names == std::vector<std::string_view>{"array_typed", "hash_sized", "lru_flags", "percpu", "pinned", "ring"});
    std::map<std::string_view, MapDefinition> defs;
    for (const Variable& map : *maps) {
        CHECK(map.offset == 0u);  // as clang writes it
        const auto def = btf->map_definition(map.name, map.type_id);
        REQUIRE(def.has_value());
        defs[map.name] = *def;
    }
    const MapDefinition& array = defs["array_typed"];
    CHECK(array.type == BPF_MAP_TYPE_ARRAY);
    CHECK(array.max_entries == 4u);
    CHECK(array.key_size == 4u);
    CHECK(array.value_size == 12u);  // packed struct counters
    CHECK(btf->type_size(array.key_type_id) == 4u);
    CHECK(btf->type_size(array.value_type_id) == 12u);
    CHECK_FALSE(array.map_flags.has_value());

    const MapDefinition& hash = defs["hash_sized"];
    CHECK(hash.type == BPF_MAP_TYPE_HASH);
    CHECK(hash.key_size == 8u);
    CHECK(hash.value_size == 16u);
    CHECK(hash.max_entries == 128u);
    CHECK(hash.key_type_id == 0u);
    CHECK(hash.value_type_id == 0u);

    const MapDefinition& lru = defs["lru_flags"];
    CHECK(lru.type == BPF_MAP_TYPE_LRU_HASH);
    CHECK(lru.max_entries == 64u);
    CHECK(lru.map_flags == std::uint32_t{BPF_F_NO_COMMON_LRU});
    CHECK(lru.key_size == 8u);
    CHECK(lru.value_size == 4u);

    const MapDefinition& ring = defs["ring"];
    CHECK(ring.type == BPF_MAP_TYPE_RINGBUF);
    CHECK(ring.max_entries == 4096u);
    CHECK_FALSE(ring.key_size.has_value());
    CHECK_FALSE(ring.value_size.has_value());

    const MapDefinition& pinned = defs["pinned"];
    CHECK(pinned.type == BPF_MAP_TYPE_ARRAY);
    CHECK(pinned.pinning == 1u);
    CHECK(pinned.key_size == 4u);
    CHECK(pinned.value_size == 8u);

    const MapDefinition& percpu = defs["percpu"];
    CHECK(percpu.type == BPF_MAP_TYPE_PERCPU_ARRAY);
    CHECK(percpu.max_entries == 2u);
    CHECK(percpu.value_size == 8u);
    CHECK_FALSE(percpu.pinning.has_value());

    const auto sizes = [&](std::string_view section) {
        std::vector<std::pair<std::string_view, std::uint32_t>> out;
        const auto vars = btf->datasec_variables(section);
        REQUIRE(vars.has_value());
        for (const Variable& var : *vars) {
            CHECK(btf->type_size(var.type_id) == var.size);
            out.emplace_back(var.name, var.size);
        }
        return out;
    };
    using Sizes = std::vector<std::pair<std::string_view, std::uint32_t>>;
    CHECK(sizes(".rodata") == Sizes{{"rodata_port", 4}, {"rodata_mask", 6}});
    CHECK(sizes(".data") == Sizes{{"data_count", 8}, {"data_small", 2}});
    CHECK(sizes(".bss") == Sizes{{"bss_total", 4}, {"bss_array", 24}});
    CHECK(sizes(".maps").size() == 6);
    CHECK(btf->datasec_variables(".nothing")->empty());
}

TEST_CASE("btf real object fixed for the kernel") {
    const auto btf = Btf::parse(object().section(".BTF"));
    REQUIRE(btf.has_value());
    const auto fixed = fixed_object_btf(*btf);
    REQUIRE(fixed.has_value());
    const auto again = Btf::parse(*fixed);
    REQUIRE(again.has_value());
    for (const std::string_view section : {".maps", ".rodata", ".data", ".bss"}) {
        const auto vars = again->datasec_variables(section);
        REQUIRE(vars.has_value());
        REQUIRE_FALSE(vars->empty());
        std::uint32_t end = 0;
        for (const Variable& var : *vars) {
            CHECK(object().symbol(section, var.name) == var.offset);
            CHECK(var.offset >= end);
            end = var.offset + var.size;
        }
        CHECK(end <= object().section_size(section));
    }
    const auto missing = btf->fixed_for_kernel(
        [](std::string_view section) {
            return section == ".bss" ? std::nullopt : object().section_size(section);
        },
        [](std::string_view section, std::string_view variable) { return object().symbol(section, variable); });
    CHECK_THAT(error_of(missing), Contains("DATASEC \".bss\": the object has no section"));
}

TEST_CASE("btf ext of the real object") {
    const auto btf = Btf::parse(object().section(".BTF"));
    REQUIRE(btf.has_value());
    const auto ext = Ext::parse(object().section(".BTF.ext"), *btf);
    REQUIRE(ext.has_value());
    CHECK(ext->func_info_record_size == 8u);
    CHECK(ext->line_info_record_size == 16u);
    for (const std::string_view name : {"socket", ".text"}) {
        const auto found = std::find_if(ext->sections.begin(), ext->sections.end(),
                                        [&](const ExtSection& section) { return section.section == name; });
        REQUIRE(found != ext->sections.end());
        REQUIRE(found->func_info.size() == 1);  // one function per section
        CHECK(found->func_info[0].insn_offset == 0u);
        CHECK(found->func_info[0].record.size() == 8u);
        REQUIRE(found->line_info.size() > 1);
        for (const ExtRecord& line : found->line_info) {
            CHECK(line.record.size() == 16u);
            CHECK(line.insn_offset % 8 == 0u);
            std::uint32_t file_name_off = 0;
            std::memcpy(&file_name_off, line.record.data() + 4, 4);
            CHECK_THAT(std::string(btf->string_at(file_name_off).value_or("")), Contains("btf_maps.bpf.c"));
        }
        CHECK(found->core_relocation_count == 0u);
    }
}

TEST_CASE("btf truncation sweep of the real object") {
    const auto btf_bytes = object().section(".BTF");
    const auto ext_bytes = object().section(".BTF.ext");
    const auto full = Btf::parse(btf_bytes);
    REQUIRE(full.has_value());
    const auto sizes = [](std::string_view section) { return object().section_size(section); };
    const auto symbols = [](std::string_view section, std::string_view variable) {
        return object().symbol(section, variable);
    };
    // Each prefix in its own exactly-sized allocation, so a sanitizer build sees any read past its end.
    std::size_t accepted = 0;
    for (std::size_t size = 0; size <= btf_bytes.size(); ++size) {
        const Bytes prefix(btf_bytes.begin(), btf_bytes.begin() + static_cast<std::ptrdiff_t>(size));
        const auto btf = Btf::parse(prefix);
        if (!btf) {
            CHECK(btf.error().kind() == ErrorKind::InvalidArgument);
            continue;
        }
        ++accepted;
        if (const auto maps = btf->datasec_variables(".maps"))
            for (const Variable& map : *maps) (void)btf->map_definition(map.name, map.type_id);
        (void)btf->fixed_for_kernel(sizes, symbols);
    }
    CHECK(accepted == 1);  // the string area ends the section: only the whole of it parses
    std::size_t ext_accepted = 0;
    for (std::size_t size = 0; size <= ext_bytes.size(); ++size) {
        const Bytes prefix(ext_bytes.begin(), ext_bytes.begin() + static_cast<std::ptrdiff_t>(size));
        const auto ext = Ext::parse(prefix, *full);
        if (ext) ++ext_accepted;
        else CHECK(ext.error().kind() == ErrorKind::InvalidArgument);
    }
    CHECK(ext_accepted >= 1);
}

TEST_CASE("btf fixed real object loads into the kernel") {
    SKIP_UNLESS(sockfilter_test::missing_privileges());
    SKIP_WITHOUT_FEATURE(global_data);
    const auto btf = Btf::parse(object().section(".BTF"));
    REQUIRE(btf.has_value());
    const auto fixed = fixed_object_btf(*btf);
    REQUIRE(fixed.has_value());
    std::string log(64 * 1024, '\0');
    union bpf_attr attr {};
    attr.btf = reinterpret_cast<std::uint64_t>(fixed->data());
    attr.btf_size = static_cast<std::uint32_t>(fixed->size());
    attr.btf_log_buf = reinterpret_cast<std::uint64_t>(log.data());
    attr.btf_log_size = static_cast<std::uint32_t>(log.size());
    attr.btf_log_level = 1;
    const auto fd = static_cast<int>(syscall(__NR_bpf, BPF_BTF_LOAD, &attr, sizeof attr));
    INFO("kernel BTF log: " << log.c_str());
    REQUIRE(fd >= 0);
    close(fd);

    // The unfixed bytes (DATASEC sizes 0) are refused: the fix-up is what makes the difference.
    const auto raw = object().section(".BTF");
    const Bytes unfixed(raw.begin(), raw.end());
    attr.btf = reinterpret_cast<std::uint64_t>(unfixed.data());
    const auto refused = static_cast<int>(syscall(__NR_bpf, BPF_BTF_LOAD, &attr, sizeof attr));
    if (refused >= 0) close(refused);
    CHECK(refused < 0);
}
