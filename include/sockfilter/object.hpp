// Object: a BPF ELF object compiled by clang (-target bpf): its socket filter programs, maps and globals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sockfilter/error.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/reuseport_socket_filter.hpp"
#include "sockfilter/socket_filter.hpp"

namespace sockfilter {

/// Options for Object::load().
struct ObjectOptions {
    /// Directory (on a bpffs) for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`: each is pinned
    /// at <pin_directory>/<map name>, or reused when a compatible map is pinned there already. The
    /// directory must exist. libbpf's default.
    std::string_view pin_directory = "/sys/fs/bpf";
    /// Load the object's .BTF into the kernel (BPF_BTF_LOAD, Linux 4.18; func and line info 5.0) so that
    /// maps carry their key/value types and verifier errors name the C source line. When the kernel refuses
    /// it, the object loads without BTF (see Object::btf_error()). false: never load BTF.
    bool load_btf = true;
};

/// One program found in the object: a global function in an executable section other than .text.
struct ProgramSpec {
    std::string name;                  ///< the function's name
    std::string section;               ///< its ELF section, e.g. "socket", "socket/udp", "socket1", "xdp"
    std::size_t instruction_count = 0; ///< its own instructions (subprograms not counted)
    bool is_socket_filter = false;     ///< in a `socket`, `socket/…` or `socketN` section
};

/// One map the object declares: BTF-defined in ".maps", legacy `struct bpf_map_def` in "maps", or a
/// global data section (".data", ".rodata*", ".bss"), named after its section.
struct ObjectMapSpec {
    std::string name;               ///< the variable's name, or the section name for global data
    std::uint32_t type = 0;         ///< enum bpf_map_type
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
    std::uint32_t flags = 0;        ///< BPF_F_* map flags
    bool pinned_by_name = false;    ///< `pinning = LIBBPF_PIN_BY_NAME`
};

namespace detail { struct ObjectState; }

/// A clang-compiled BPF object (ELF64, little-endian, EM_BPF), read with sockfilter's own bounds-checked
/// ELF and BTF reader. Two steps, like Aya's loader: open() parses (no syscall but the file read), so
/// globals can be set; load() creates the maps in the kernel. Programs are then taken out as SocketFilter
/// or ReusePortSocketFilter, relocated and ready for their own load(). Move-only; destroying it closes
/// the object's map and BTF fds (programs taken out keep their own duplicates).
class Object final {
public:
    /// Reads and parses the object file at `path`, and relocates each socket filter program once so that a
    /// bad relocation or a missing symbol is reported here. Errors: the open/read errno (NotFound, …);
    /// InvalidArgument naming the section (or symbol) and what is malformed; NotSupported for features
    /// sockfilter refuses (extern symbols, map-in-map values, pinning other than by name).
    [[nodiscard]] static Result<Object> open(std::string_view path);

    /// Parses an object held in memory (e.g. an array embedded in the binary); the bytes are copied.
    /// `name` prefixes the kernel names of global data maps (as the file name does for open()).
    /// Errors: as open(), without the file errors.
    [[nodiscard]] static Result<Object> from_bytes(std::span<const std::byte> bytes, std::string_view name = "obj");

    /// The programs in the object, in section and then offset order.
    [[nodiscard]] std::span<const ProgramSpec> programs() const noexcept;
    /// The maps the object declares, in the order they are created.
    [[nodiscard]] std::span<const ObjectMapSpec> map_specs() const noexcept;
    /// The license section's text ("GPL" when the object has no license section, as Aya does).
    [[nodiscard]] std::string_view license() const noexcept;

    /// Sets the initial bytes of the global variable `name` in .rodata*, .data or .bss before load()
    /// (like Aya's set_global): a `const volatile` in .rodata becomes a constant the verifier sees.
    /// Errors: NotFound (no such global); InvalidArgument (size differs from the variable's, or after load()).
    [[nodiscard]] Result<void> set_global(std::string_view name, std::span<const std::byte> value);
    /// set_global for a trivially copyable value; its size must equal the variable's.
    template <class T>
        requires std::is_trivially_copyable_v<T>
    [[nodiscard]] Result<void> set_global(std::string_view name, const T& value) {
        return set_global(name, std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
    }

    /// Creates every map in the kernel (BPF_MAP_CREATE, named; pinned-by-name maps reused or pinned),
    /// fills global data maps and freezes .rodata (BPF_MAP_FREEZE, Linux 5.2), after loading BTF unless told
    /// not to. Needs CAP_BPF or CAP_SYS_ADMIN. On failure no map made by this call is left behind (fds
    /// closed, pins it made removed). Errors: AlreadyLoaded; InvalidArgument (incompatible pinned map);
    /// NotFound (pin directory missing); the failing syscall's Error, naming the map.
    [[nodiscard]] Result<void> load(const ObjectOptions& options = {});

    /// The program `name` as a SocketFilter, not yet loaded: relocated instructions, the object's license,
    /// BTF func/line info, and duplicates of the fds of the maps it uses (so it outlives this Object).
    /// Errors: NotLoaded (call load() first); NotFound (no such program); UnexpectedProgramType (the
    /// program is in a section of another type).
    [[nodiscard]] Result<SocketFilter> socket_filter(std::string_view name) const;
    /// The same program as a ReusePortSocketFilter (SO_ATTACH_REUSEPORT_EBPF).
    [[nodiscard]] Result<ReusePortSocketFilter> reuseport_socket_filter(std::string_view name) const;

    /// The map `name` (after load()), borrowed. Errors: NotLoaded; NotFound.
    [[nodiscard]] Result<std::reference_wrapper<Map>> map(std::string_view name);
    /// Moves the map `name` out of the object; the object keeps a duplicate of its fd (one fcntl) for
    /// programs taken out later. Errors: NotLoaded; NotFound; the F_DUPFD_CLOEXEC errno.
    [[nodiscard]] Result<Map> take_map(std::string_view name);

    /// True when load() loaded the object's BTF into the kernel.
    [[nodiscard]] bool btf_loaded() const noexcept;
    /// Why BTF was not loaded (the BPF_BTF_LOAD Error) when the object has BTF and the kernel refused it.
    [[nodiscard]] const Error* btf_error() const noexcept;

    Object(Object&&) noexcept;
    Object& operator=(Object&&) noexcept;
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
    ~Object();

private:
    explicit Object(std::unique_ptr<detail::ObjectState> state) noexcept;
    [[nodiscard]] Result<Program> take_program(std::string_view name) const;
    std::unique_ptr<detail::ObjectState> state_;
};

}  // namespace sockfilter
