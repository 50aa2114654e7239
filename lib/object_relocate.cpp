// Assembling one program of an object: its function and the subprograms it calls, with calls, map
// references and global data references relocated, and BTF func/line info moved with the code.
#include <elf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "object_state.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

constexpr const char* relocate_operation = "ELF relocation";
constexpr std::uint8_t call_opcode = BPF_JMP | BPF_CALL;
constexpr std::uint8_t ld_imm64_opcode = BPF_LD | BPF_IMM | BPF_DW;
constexpr std::int64_t insn_size = sizeof(Insn);

std::unexpected<Error> bad(std::string detail) {
    return std::unexpected(Error(ErrorKind::InvalidArgument, relocate_operation, 0, std::move(detail)));
}

void set_source(Insn& insn, std::uint8_t source) noexcept {
    insn.regs = static_cast<std::uint8_t>((insn.regs & 0x0f) | (source << 4));
}

/// A function placed in the program being assembled.
struct Placed {
    std::size_t function;
    std::size_t position;  // index of its first instruction in the assembled program
};

class Assembler {
public:
    explicit Assembler(const ObjectState& state) : state_(state), relocations_(state.elf.sections().size()) {}

    // NOLINTNEXTLINE(misc-no-recursion): a call places its callee once (find_placed), so the depth is at most the object's function count
    Result<void> place_and_relocate(std::size_t function) {
        const ObjectFunction& f = state_.functions[function];
        const auto code = state_.elf.sections()[f.section].data.subspan(static_cast<std::size_t>(f.offset),
                                                                         static_cast<std::size_t>(f.size));
        const std::size_t position = out_.instructions.size();
        out_.instructions.resize(position + code.size() / sizeof(Insn));
        std::memcpy(out_.instructions.data() + position, code.data(), code.size());
        placed_.push_back({function, position});
        return relocate(function, position);
    }

    Result<void> add_btf_info() {
        if (!state_.btf_ext) return {};
        std::vector<std::byte> func_info;
        std::vector<std::byte> line_info;
        for (const Placed& placed : placed_) {
            const ObjectFunction& f = state_.functions[placed.function];
            const btf::ExtSection* ext = ext_section(state_.elf.sections()[f.section].name);
            if (ext == nullptr) return {};  // no info for this function: load without any
            const std::size_t funcs_before = func_info.size();
            rebase(ext->func_info, f, placed.position, func_info);
            if (func_info.size() == funcs_before) return {};
            rebase(ext->line_info, f, placed.position, line_info);
        }
        if (func_info.size() != placed_.size() * state_.btf_ext->func_info_record_size) return {};
        out_.func_info = std::move(func_info);
        out_.line_info = std::move(line_info);
        return {};
    }

    AssembledProgram take() { return std::move(out_); }

private:
    // NOLINTNEXTLINE(misc-no-recursion): a call places its callee once (find_placed), so the depth is at most the object's function count
    Result<void> relocate(std::size_t function, std::size_t position) {
        const ObjectFunction& f = state_.functions[function];
        const std::string_view section = state_.elf.sections()[f.section].name;
        const std::size_t count = static_cast<std::size_t>(f.size) / sizeof(Insn);
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t at = f.offset + i * sizeof(Insn);
            const elf::Relocation* relocation = find_relocation(f.section, at);
            const Insn insn = out_.instructions[position + i];
            const bool is_call = insn.code == call_opcode && insn.src() == BPF_PSEUDO_CALL;
            // clang writes a function's address as a plain ld_imm64 relocated against code (a callback).
            const bool is_function_address =
                insn.code == ld_imm64_opcode && (insn.src() == BPF_PSEUDO_FUNC || (relocation != nullptr && points_to_code(*relocation)));
            if (insn.code == ld_imm64_opcode && i + 1 >= count) {
                return bad(concat({"the 16-byte ld_imm64 at offset ", at, " of section '", section, "' is cut off by the end of '",
                                   f.name, "'"}));
            }
            if (is_call || is_function_address) {
                if (auto done = relocate_call(f, i, position, relocation, is_call); !done) return done;
            } else if (relocation != nullptr) {
                if (auto done = relocate_data(f, i, position, *relocation); !done) return done;
            }
            if (insn.code == ld_imm64_opcode) ++i;
        }
        return {};
    }

    // NOLINTNEXTLINE(misc-no-recursion): a call places its callee once (find_placed), so the depth is at most the object's function count
    Result<void> relocate_call(const ObjectFunction& f, std::size_t i, std::size_t position, const elf::Relocation* relocation,
                               bool is_call) {
        const std::string_view section = state_.elf.sections()[f.section].name;
        const std::uint64_t at = f.offset + i * sizeof(Insn);
        const std::int64_t imm = out_.instructions[position + i].immediate;
        std::uint32_t target_section = f.section;
        std::int64_t target = 0;  // instruction index inside target_section
        if (relocation != nullptr) {
            const elf::Symbol& symbol = state_.elf.symbols()[relocation->symbol];
            if (symbol.section == SHN_UNDEF || symbol.section >= state_.elf.sections().size()) {
                return bad(concat({"the call at offset ", at, " of section '", section, "' targets '", symbol.name,
                                   "', which the object does not define (extern functions are not supported)"}));
            }
            target_section = symbol.section;
            const auto base = static_cast<std::int64_t>(symbol.value);
            target = is_call ? base / insn_size + imm + 1 : (base + imm) / insn_size;
        } else if (is_call) {
            target = static_cast<std::int64_t>(at) / insn_size + imm + 1;
        } else {
            return bad(concat({"the function address at offset ", at, " of section '", section, "' has no relocation"}));
        }
        const auto callee = function_at(target_section, target);
        if (!callee) {
            return bad(concat({"the call at offset ", at, " of section '", section, "' lands on instruction ",
                               static_cast<std::uint64_t>(std::max<std::int64_t>(target, 0)), " of section '",
                               state_.elf.sections()[target_section].name, "', where no function starts"}));
        }
        std::size_t callee_position = 0;
        if (const Placed* placed = find_placed(*callee); placed != nullptr) {
            callee_position = placed->position;
        } else {
            callee_position = out_.instructions.size();
            if (auto done = place_and_relocate(*callee); !done) return done;
        }
        Insn& relocated = out_.instructions[position + i];
        relocated.immediate = static_cast<std::int32_t>(static_cast<std::int64_t>(callee_position) - static_cast<std::int64_t>(position + i) - 1);
        if (!is_call) set_source(relocated, BPF_PSEUDO_FUNC);
        return {};
    }

    Result<void> relocate_data(const ObjectFunction& f, std::size_t i, std::size_t position, const elf::Relocation& relocation) {
        const std::string_view section = state_.elf.sections()[f.section].name;
        const std::uint64_t at = f.offset + i * sizeof(Insn);
        Insn& insn = out_.instructions[position + i];
        const elf::Symbol& symbol = state_.elf.symbols()[relocation.symbol];
        if (insn.code != ld_imm64_opcode) {
            return bad(concat({"relocation of '", symbol.name, "' at offset ", at, " of section '", section,
                               "' is on an instruction that is not an ld_imm64 (opcode ", std::uint64_t{insn.code}, ")"}));
        }
        if (symbol.section == SHN_UNDEF || symbol.section >= state_.elf.sections().size()) {
            return bad(concat({"the instruction at offset ", at, " of section '", section, "' refers to '", symbol.name,
                               "', which the object does not define (extern variables, .kconfig and .ksyms are not supported)"}));
        }
        const std::uint64_t addend = symbol.type == STT_SECTION ? static_cast<std::uint64_t>(static_cast<std::uint32_t>(insn.immediate)) : 0;
        for (std::size_t m = 0; m < state_.maps.size(); ++m) {
            const ObjectMap& map = state_.maps[m];
            if (map.section != symbol.section) continue;
            if (map.origin == MapOrigin::GlobalData) {
                const std::uint64_t offset = symbol.value + static_cast<std::uint64_t>(static_cast<std::uint32_t>(insn.immediate));
                if (offset > map.size) {
                    return bad(concat({"the reference to '", symbol.name, "' at offset ", at, " of section '", section,
                                       "' points ", offset, " bytes into '", state_.map_specs[m].name, "', which holds ",
                                       std::uint64_t{map.size}}));
                }
                set_source(insn, BPF_PSEUDO_MAP_VALUE);
                out_.instructions[position + i + 1].immediate = static_cast<std::int32_t>(offset);
            } else {
                if (map.symbol_offset != symbol.value + addend) continue;
                set_source(insn, BPF_PSEUDO_MAP_FD);
            }
            insn.immediate = map.fd();
            out_.map_uses.emplace_back(position + i, m);
            return {};
        }
        return bad(concat({"the instruction at offset ", at, " of section '", section, "' refers to '", symbol.name,
                           "' in section '", state_.elf.sections()[symbol.section].name,
                           "', which is neither a map nor global data"}));
    }

    [[nodiscard]] bool points_to_code(const elf::Relocation& relocation) const noexcept {
        const elf::Symbol& symbol = state_.elf.symbols()[relocation.symbol];
        const auto sections = state_.elf.sections();
        return symbol.section != SHN_UNDEF && symbol.section < sections.size() && (sections[symbol.section].flags & SHF_EXECINSTR) != 0;
    }

    [[nodiscard]] std::optional<std::size_t> function_at(std::uint32_t section, std::int64_t index) const noexcept {
        if (index < 0) return std::nullopt;
        const auto offset = static_cast<std::uint64_t>(index) * sizeof(Insn);
        for (std::size_t i = 0; i < state_.functions.size(); ++i) {
            if (state_.functions[i].section == section && state_.functions[i].offset == offset) return i;
        }
        return std::nullopt;
    }

    [[nodiscard]] const Placed* find_placed(std::size_t function) const noexcept {
        for (const Placed& placed : placed_) {
            if (placed.function == function) return &placed;
        }
        return nullptr;
    }

    const elf::Relocation* find_relocation(std::uint32_t section, std::uint64_t offset) {
        auto& cached = relocations_[section];
        if (!cached) {
            cached = state_.elf.relocations_for(section);
            std::sort(cached->begin(), cached->end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
        }
        const auto found = std::lower_bound(cached->begin(), cached->end(), offset,
                                            [](const elf::Relocation& r, std::uint64_t value) { return r.offset < value; });
        return found != cached->end() && found->offset == offset ? &*found : nullptr;
    }

    [[nodiscard]] const btf::ExtSection* ext_section(std::string_view name) const noexcept {
        if (!state_.btf_ext) return nullptr;
        for (const auto& section : state_.btf_ext->sections) {
            if (section.section == name) return &section;
        }
        return nullptr;
    }

    // Appends the records of `records` that fall inside `f`, with insn_off as an instruction index in the program.
    static void rebase(const std::vector<btf::ExtRecord>& records, const ObjectFunction& f, std::size_t position,
                       std::vector<std::byte>& out) {
        for (const auto& record : records) {
            if (record.insn_offset < f.offset || record.insn_offset >= f.offset + f.size) continue;
            const auto index = static_cast<std::uint32_t>(position + (record.insn_offset - f.offset) / sizeof(Insn));
            const std::size_t start = out.size();
            out.insert(out.end(), record.record.begin(), record.record.end());
            std::memcpy(out.data() + start, &index, sizeof index);
        }
    }

    const ObjectState& state_;
    AssembledProgram out_;
    std::vector<Placed> placed_;
    std::vector<std::optional<std::vector<elf::Relocation>>> relocations_;
};

}  // namespace

Result<AssembledProgram> assemble_program(const ObjectState& state, std::size_t program) {
    Assembler assembler(state);
    if (auto done = assembler.place_and_relocate(state.program_functions[program]); !done) return std::unexpected(std::move(done.error()));
    if (auto done = assembler.add_btf_info(); !done) return std::unexpected(std::move(done.error()));
    return assembler.take();
}

}  // namespace sockfilter::detail
