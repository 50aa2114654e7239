// libFuzzer target: the .BTF reader (lib/btf.hpp) on arbitrary bytes. After a successful parse every query
// answers without a crash: type sizes, the DATASECs of the sections objects use, map definitions of the
// ".maps" variables, and fixed_for_kernel, whose copy is exactly as long as the input (it patches in place,
// never grows the blob). Strings it hands out lie inside the input.
#include <array>
#include <optional>
#include <string_view>

#include "btf.hpp"
#include "fuzz_check.hpp"

using namespace sockfilter::detail;
using sockfilter_fuzz::check;
using sockfilter_fuzz::inside;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = sockfilter_fuzz::bytes_of(data, size);
    const auto parsed = btf::Btf::parse(input);
    if (!parsed) {
        check(!parsed.error().message().empty(), "a BTF error has a message");
        return 0;
    }
    const btf::Btf& types = *parsed;
    check(types.type_count() >= 1, "void is type 0");
    for (std::uint32_t id = 0; id <= types.type_count(); ++id) (void)types.type_size(id);  // one past the end too

    constexpr std::array sections{".maps", ".data", ".rodata", ".bss", ".kconfig"};
    for (const std::string_view section : sections) {
        const auto variables = types.datasec_variables(section);
        if (!variables) continue;
        for (const btf::Variable& variable : *variables) {
            check(inside(variable.name, input), "variable name lies inside the input");
            if (section == ".maps") (void)types.map_definition(variable.name, variable.type_id);
        }
    }
    for (std::uint32_t offset : {0U, 1U, static_cast<std::uint32_t>(size), 0xffffffffU}) {
        if (const auto text = types.string_at(offset)) check(inside(*text, input), "string_at lies inside the input");
    }

    // Sections of every size the fuzzer's first byte picks; variables at offsets that vary with their name.
    const std::uint32_t section_size = size > 0 ? data[0] : 0;
    const auto fixed = types.fixed_for_kernel(
        [&](std::string_view section) -> std::optional<std::uint32_t> {
            if (section == ".nosuch") return std::nullopt;
            return section_size;
        },
        [](std::string_view, std::string_view variable) -> std::optional<std::uint32_t> {
            return static_cast<std::uint32_t>(variable.size() * 8);
        });
    if (fixed) {
        check(fixed->size() == size, "fixed_for_kernel neither grows nor shrinks the blob");
        const auto again = btf::Btf::parse(*fixed);
        check(again.has_value(), "the fixed blob parses again");
        check(again->type_count() == types.type_count(), "the fixed blob has the same types");
    }
    return 0;
}
