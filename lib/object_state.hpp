// Private: what an Object holds between open() and its destruction, and the steps that build it.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "btf.hpp"
#include "elf_file.hpp"
#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/object.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter::detail {

/// A function of the object: a program (global, in a program section) or a subprogram (.text, or static).
struct ObjectFunction {
    std::string_view name;
    std::uint32_t section = 0;   ///< ELF section index
    std::uint64_t offset = 0;    ///< bytes from the start of the section (a multiple of 8)
    std::uint64_t size = 0;      ///< bytes (a multiple of 8, at least one instruction)
};

/// Where a map's definition or contents come from.
enum class MapOrigin : std::uint8_t { BtfDefinition, LegacyDefinition, GlobalData };

/// One map of the object: its spec, how relocations find it, and once loaded its kernel map.
struct ObjectMap {
    MapOrigin origin = MapOrigin::BtfDefinition;
    std::uint32_t section = 0;              ///< ".maps"/"maps" section, or the global data section
    std::uint64_t symbol_offset = 0;        ///< definitions: the variable's offset in its section
    std::string kernel_name;                ///< at most 15 of [A-Za-z0-9_.]
    std::uint32_t btf_key_type_id = 0;
    std::uint32_t btf_value_type_id = 0;
    std::uint32_t numa_node = 0;
    std::uint64_t map_extra = 0;
    std::span<const std::byte> contents{};  ///< global data: the section's bytes in the file (empty for .bss)
    std::uint32_t size = 0;                 ///< global data: the section's size (the map's value size)
    std::vector<std::byte> initial{};       ///< global data: a copy made by the first set_global, else empty

    /// The bytes to write at load: set_global's copy, or the section's own (zero-padded to `size`).
    [[nodiscard]] std::vector<std::byte> initial_bytes() const {
        if (!initial.empty()) return initial;
        std::vector<std::byte> bytes(size);
        std::ranges::copy(contents, bytes.begin());
        return bytes;
    }
    bool freeze = false;                    ///< .rodata: frozen after its bytes are written
    std::optional<Map> map{};               ///< after load(), until take_map()
    MapFd kept_fd{};                        ///< after take_map(): a duplicate for later relocations

    /// The fd relocations use: the map's, or the duplicate kept after take_map(); -1 before load().
    [[nodiscard]] int fd() const noexcept { return map ? map->fd().get() : kept_fd ? kept_fd.get() : -1; }
};

/// A program assembled for loading: the main function and the subprograms it calls, relocated.
struct AssembledProgram {
    std::vector<Insn> instructions;
    /// (instruction index, map index): ld_imm64 instructions whose imm is the map's fd.
    std::vector<std::pair<std::size_t, std::size_t>> map_uses;
    std::vector<std::byte> func_info;  ///< records with insn_off in instructions, empty without BTF.ext
    std::vector<std::byte> line_info;
};

/// Everything an Object is. Never moves once made (the ELF and BTF views point into `bytes`).
struct ObjectState {
    std::vector<std::byte> bytes;
    elf::File elf;
    std::optional<btf::Btf> btf;
    std::optional<btf::Ext> btf_ext;
    std::string name;                         ///< prefix of global data map names
    std::string license = "GPL";
    std::vector<ObjectFunction> functions;    ///< every function: programs and subprograms
    std::vector<ProgramSpec> program_specs;
    std::vector<std::size_t> program_functions;  ///< index into functions, per program_specs entry
    std::vector<ObjectMapSpec> map_specs;
    std::vector<ObjectMap> maps;              ///< parallel to map_specs
    bool loaded = false;
    OwnedFd btf_fd;
    std::optional<Error> btf_error;
};

/// Parses `bytes` (moved into the state) into functions, programs, maps and globals, and assembles every
/// socket filter program once so that relocation errors show here. No syscall.
/// Errors: InvalidArgument naming the section and what is malformed; NotSupported for features refused.
Result<std::unique_ptr<ObjectState>> parse_object(std::vector<std::byte> bytes, std::string_view name);

/// Assembles program `program` (index into program_specs): its function, then every subprogram it calls
/// (depth first, in call order, as libbpf does, so the program tag matches), calls and map references
/// relocated, BTF func/line info rebased. Needs loaded maps for their fds.
Result<AssembledProgram> assemble_program(const ObjectState& state, std::size_t program);

/// BPF_BTF_LOAD (unless told not to), then every map created (or reused from its pin), filled and
/// frozen. On failure the maps made and pins written by this call are removed.
Result<void> load_object(ObjectState& state, const ObjectOptions& options);

}  // namespace sockfilter::detail
