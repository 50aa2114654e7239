// libFuzzer target: the ELF reader (lib/elf_file.hpp) on arbitrary bytes. A successful parse hands out
// views that all lie inside the input: every section's data and name, every symbol's name, and every
// relocation points at a symbol that exists and an offset inside its target section.
#include <elf.h>

#include "elf_file.hpp"
#include "fuzz_check.hpp"

using namespace sockfilter::detail;
using sockfilter_fuzz::check;
using sockfilter_fuzz::inside;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = sockfilter_fuzz::bytes_of(data, size);
    const auto file = elf::File::parse(input);
    if (!file) {
        check(!file.error().message().empty(), "an ELF error has a message");
        return 0;
    }
    const auto sections = file->sections();
    check(!sections.empty(), "a parsed ELF has the null section");
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const elf::Section& section = sections[i];
        check(section.index == i, "sections are listed by index");
        check(inside(section.data, input), "section data lies inside the input");
        check(inside(section.name, input), "section name lies inside the input");
        if (section.type != SHT_NOBITS && section.type != SHT_NULL) check(section.data.size() == section.size, "section data is sh_size bytes");
        if (!section.name.empty()) check(file->find_section(section.name) != nullptr, "find_section finds every named section");
    }
    const auto symbols = file->symbols();
    for (std::size_t i = 0; i < symbols.size(); ++i) {
        const elf::Symbol& symbol = symbols[i];
        check(symbol.index == i, "symbols are listed by index");
        check(inside(symbol.name, input), "symbol name lies inside the input");
        check(symbol.section < sections.size() || symbol.section == SHN_ABS || symbol.section == SHN_COMMON,
              "symbol section is a section, SHN_ABS or SHN_COMMON");
    }
    for (std::uint32_t target = 0; target < sections.size(); ++target) {
        for (const elf::Relocation& relocation : file->relocations_for(target)) {
            check(relocation.symbol < symbols.size(), "relocation symbol exists");
            check(relocation.offset < sections[target].size, "relocation offset inside its target section");
        }
    }
    return 0;
}
