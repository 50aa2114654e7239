// Reading an object's ELF sections into functions, programs, map definitions and global data (no syscall).
#include <elf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "object_name.hpp"
#include "object_state.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

constexpr const char* parse_operation = "ELF object";
constexpr std::size_t insn_size = sizeof(Insn);
constexpr std::size_t legacy_map_def_size = 5 * sizeof(std::uint32_t);  // type, key, value, max_entries, flags

std::unexpected<Error> malformed(std::string detail) {
    return std::unexpected(Error(ErrorKind::InvalidArgument, parse_operation, 0, std::move(detail)));
}

bool starts_with(std::string_view text, std::string_view prefix) noexcept { return text.substr(0, prefix.size()) == prefix; }

/// `socket`, `socket/<anything>` or the kernel samples' `socket<digits>`.
bool is_socket_filter_section(std::string_view name) noexcept {
    if (name == "socket" || starts_with(name, "socket/")) return true;
    if (!starts_with(name, "socket") || name.size() == 6) return false;
    return std::all_of(name.begin() + 6, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// .data, .bss, .rodata and their suffixed forms (.rodata.str1.1, .data.counters, …).
bool is_global_data_section(std::string_view name) noexcept {
    return name == ".data" || name == ".bss" || name == ".rodata" || starts_with(name, ".data.") ||
           starts_with(name, ".bss.") || starts_with(name, ".rodata.");
}

std::uint32_t read_u32(std::span<const std::byte> bytes, std::size_t offset) noexcept {
    std::uint32_t value = 0;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

/// A kernel map name for global data: up to 8 characters of the object's name, then the section name,
/// cut to 15 characters; anything the kernel refuses becomes '_'.
std::string global_data_map_name(std::string_view object_name, std::string_view section) {
    std::string name(object_name.substr(0, 8));
    name.append(section);
    name.resize(std::min<std::size_t>(name.size(), BPF_OBJ_NAME_LEN - 1));
    for (char& c : name) {
        if (!is_object_name_char(c)) c = '_';
    }
    return name;
}

/// The functions of one executable section: FUNC symbols (and the untyped global symbols older
/// compilers wrote), sized by st_size or, without one, up to the next function.
Result<void> collect_functions(ObjectState& state, const elf::Section& section) {
    std::vector<const elf::Symbol*> symbols;
    for (const auto& symbol : state.elf.symbols()) {
        if (symbol.section != section.index) continue;
        const bool function = symbol.type == STT_FUNC || (symbol.type == STT_NOTYPE && symbol.bind != STB_LOCAL);
        if (function && !symbol.name.empty()) symbols.push_back(&symbol);
    }
    if (symbols.empty()) {
        return malformed(concat({"section '", section.name, "' holds code but no function symbol"}));
    }
    std::ranges::sort(symbols, [](const auto* a, const auto* b) { return a->value < b->value; });
    for (std::size_t i = 0; i < symbols.size(); ++i) {
        const elf::Symbol& symbol = *symbols[i];
        const std::uint64_t end = i + 1 < symbols.size() ? symbols[i + 1]->value : section.size;
        const std::uint64_t size = symbol.size != 0 ? symbol.size : end - symbol.value;
        if (symbol.value % insn_size != 0 || size % insn_size != 0 || size == 0 || symbol.value > section.size ||
            size > section.size - symbol.value) {
            return malformed(concat({"function '", symbol.name, "' in section '", section.name, "' at offset ", symbol.value,
                                     " with size ", size, " is not a whole number of instructions inside the section (",
                                     section.size, " bytes)"}));
        }
        state.functions.push_back({.name = symbol.name, .section = section.index, .offset = symbol.value, .size = size});
        if (section.name == ".text" || symbol.bind == STB_LOCAL) continue;  // subprograms
        state.program_functions.push_back(state.functions.size() - 1);
        state.program_specs.push_back({.name = std::string(symbol.name),
                                       .section = std::string(section.name),
                                       .instruction_count = size / insn_size,
                                       .is_socket_filter = is_socket_filter_section(section.name)});
    }
    return {};
}

/// The symbol called `name` defined in section `section`, or nullptr.
const elf::Symbol* symbol_in(const elf::File& elf, std::uint32_t section, std::string_view name) noexcept {
    for (const auto& symbol : elf.symbols()) {
        if (symbol.section == section && symbol.name == name && symbol.type != STT_SECTION) return &symbol;
    }
    return nullptr;
}

/// Maps defined with BTF in ".maps".
Result<void> collect_btf_maps(ObjectState& state, const elf::Section& section) {
    if (!state.btf) {
        return malformed("section '.maps' describes maps in BTF but the object has no .BTF section: compile with clang -g");
    }
    auto variables = state.btf->datasec_variables(".maps");
    if (!variables) return std::unexpected(std::move(variables.error()));
    for (const auto& variable : *variables) {
        auto definition = state.btf->map_definition(variable.name, variable.type_id);
        if (!definition) return std::unexpected(std::move(definition.error()));
        const elf::Symbol* symbol = symbol_in(state.elf, section.index, variable.name);
        if (symbol == nullptr) {
            return malformed(concat({"map '", variable.name, "' is in the .maps BTF but has no symbol in section '.maps'"}));
        }
        const std::optional<std::uint32_t> map_type = definition->type;
        if (!map_type) return malformed(concat({"map '", variable.name, "' has no type: add __uint(type, BPF_MAP_TYPE_…)"}));
        const std::uint32_t pinning = definition->pinning.value_or(0);
        if (pinning > 1) {
            return std::unexpected(Error(ErrorKind::NotSupported, parse_operation, 0,
                                         concat({"map '", variable.name, "' has pinning ", std::uint64_t{pinning},
                                                 "; only 0 (none) and 1 (LIBBPF_PIN_BY_NAME) are supported"})));
        }
        state.map_specs.push_back({.name = std::string(variable.name),
                                   .type = *map_type,
                                   .key_size = definition->key_size.value_or(0),
                                   .value_size = definition->value_size.value_or(0),
                                   .max_entries = definition->max_entries.value_or(0),
                                   .flags = definition->map_flags.value_or(0),
                                   .pinned_by_name = pinning == 1});
        state.maps.push_back({.origin = MapOrigin::BtfDefinition,
                              .section = section.index,
                              .symbol_offset = symbol->value,
                              .kernel_name = std::string(variable.name.substr(0, BPF_OBJ_NAME_LEN - 1)),
                              .btf_key_type_id = definition->key_type_id,
                              .btf_value_type_id = definition->value_type_id,
                              .numa_node = definition->numa_node.value_or(0),
                              .map_extra = definition->map_extra.value_or(0)});
    }
    return {};
}

/// Legacy `struct bpf_map_def` records in "maps", one per symbol.
Result<void> collect_legacy_maps(ObjectState& state, const elf::Section& section) {
    std::vector<const elf::Symbol*> symbols;
    for (const auto& symbol : state.elf.symbols()) {
        if (symbol.section == section.index && symbol.type != STT_SECTION && !symbol.name.empty()) symbols.push_back(&symbol);
    }
    std::ranges::sort(symbols, [](const auto* a, const auto* b) { return a->value < b->value; });
    for (const elf::Symbol* symbol : symbols) {
        if (section.data.empty() || symbol->value > section.data.size() ||
            section.data.size() - symbol->value < legacy_map_def_size) {
            return malformed(concat({"map '", symbol->name, "' at offset ", symbol->value, " of section 'maps' (", section.size,
                                     " bytes) does not hold a 20-byte struct bpf_map_def"}));
        }
        const auto at = static_cast<std::size_t>(symbol->value);
        state.map_specs.push_back({.name = std::string(symbol->name),
                                   .type = read_u32(section.data, at),
                                   .key_size = read_u32(section.data, at + 4),
                                   .value_size = read_u32(section.data, at + 8),
                                   .max_entries = read_u32(section.data, at + 12),
                                   .flags = read_u32(section.data, at + 16)});
        state.maps.push_back({.origin = MapOrigin::LegacyDefinition,
                              .section = section.index,
                              .symbol_offset = symbol->value,
                              .kernel_name = std::string(symbol->name.substr(0, BPF_OBJ_NAME_LEN - 1))});
    }
    return {};
}

/// One single-element array map per global data section, holding its bytes.
Result<void> collect_global_data(ObjectState& state, const elf::Section& section) {
    if (section.size > UINT32_MAX / 2) {
        return malformed(concat({"global data section '", section.name, "' is ", section.size, " bytes, more than a map value can hold"}));
    }
    const bool read_only = starts_with(section.name, ".rodata");
    state.map_specs.push_back({.name = std::string(section.name),
                               .type = BPF_MAP_TYPE_ARRAY,
                               .key_size = sizeof(std::uint32_t),
                               .value_size = static_cast<std::uint32_t>(section.size),
                               .max_entries = 1,
                               .flags = read_only ? std::uint32_t{BPF_F_RDONLY_PROG} : 0U});
    ObjectMap map{.origin = MapOrigin::GlobalData,
                  .section = section.index,
                  .kernel_name = global_data_map_name(state.name, section.name),
                  .freeze = read_only};
    // Copied only when set_global or load() needs the bytes: a damaged header cannot make parsing allocate.
    map.size = static_cast<std::uint32_t>(section.size);
    if (section.type != SHT_NOBITS) map.contents = section.data;
    state.maps.push_back(std::move(map));
    return {};
}

/// Programs and maps are found by name (Object::socket_filter, map, take_map, pins): two of one name, from
/// two sections called ".data" or two global functions called alike in two sections, say, would leave one
/// of them unreachable. `what` is "programs" or "maps".
template <typename Specs>
Result<void> require_unique_names(const Specs& specs, std::string_view what) {
    std::vector<std::string_view> names;
    names.reserve(specs.size());
    for (const auto& spec : specs) names.emplace_back(spec.name);
    std::ranges::sort(names);
    if (const auto twice = std::ranges::adjacent_find(names); twice != names.end()) {
        return malformed(concat({"two ", what, " are named '", *twice, "'; ", what, " of one object need names of their own"}));
    }
    return {};
}

Result<void> collect(ObjectState& state) {
    if (const auto* license = state.elf.find_section("license"); license != nullptr) {
        // No bytes (an empty or SHT_NOBITS section, whose data() is null: no strnlen on it) is an empty license.
        const auto* text = reinterpret_cast<const char*>(license->data.data());
        state.license = license->data.empty() ? std::string() : std::string(text, strnlen(text, license->data.size()));
    }
    if (const auto* btf = state.elf.find_section(".BTF"); btf != nullptr) {
        auto parsed = btf::Btf::parse(btf->data);
        if (!parsed) return std::unexpected(std::move(parsed.error()));
        state.btf.emplace(std::move(*parsed));
    }
    if (const auto* ext = state.elf.find_section(".BTF.ext"); ext != nullptr) {
        if (!state.btf) return malformed("the object has a .BTF.ext section but no .BTF section");
        auto parsed = btf::Ext::parse(ext->data, *state.btf);
        if (!parsed) return std::unexpected(std::move(parsed.error()));
        state.btf_ext.emplace(std::move(*parsed));
    }
    for (const auto& section : state.elf.sections()) {
        if (section.type == SHT_PROGBITS && (section.flags & SHF_EXECINSTR) != 0 && section.size != 0) {
            if (auto done = collect_functions(state, section); !done) return done;
        }
    }
    for (const auto& section : state.elf.sections()) {
        Result<void> done;
        if (section.name == ".maps" && section.type == SHT_PROGBITS) {
            done = collect_btf_maps(state, section);
        } else if (section.name == "maps" && section.type == SHT_PROGBITS) {
            done = collect_legacy_maps(state, section);
        } else if (is_global_data_section(section.name) && (section.type == SHT_PROGBITS || section.type == SHT_NOBITS) &&
                   (section.flags & SHF_ALLOC) != 0 && section.size != 0) {
            done = collect_global_data(state, section);
        }
        if (!done) return done;
    }
    if (auto unique = require_unique_names(state.program_specs, "programs"); !unique) return unique;
    return require_unique_names(state.map_specs, "maps");
}

}  // namespace

Result<std::unique_ptr<ObjectState>> parse_object(std::vector<std::byte> bytes, std::string_view name) {
    auto state = std::make_unique<ObjectState>();
    state->bytes = std::move(bytes);
    state->name.assign(name);
    auto elf = elf::File::parse(state->bytes);
    if (!elf) return std::unexpected(std::move(elf.error()));
    state->elf = std::move(*elf);
    if (auto collected = collect(*state); !collected) return std::unexpected(std::move(collected.error()));
    // Relocation errors surface at open, before any syscall (map fds are -1 until load()).
    for (std::size_t p = 0; p < state->program_specs.size(); ++p) {
        if (!state->program_specs[p].is_socket_filter) continue;
        if (auto assembled = assemble_program(*state, p); !assembled) return std::unexpected(std::move(assembled.error()));
    }
    return state;
}

}  // namespace sockfilter::detail
