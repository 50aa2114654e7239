// Object: opening, global variables, loading, and taking programs and maps out.
#include "sockfilter/object.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "object_state.hpp"
#include "small_file.hpp"
#include "syscall.hpp"
#include "text.hpp"

namespace sockfilter {

namespace {

/// The object's name from its file name, as libbpf takes it: the base name up to its first '.'.
std::string_view name_from_path(std::string_view path) noexcept {
    const auto slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    base = base.substr(0, base.find('.'));
    return base.empty() ? std::string_view("obj") : base;
}

std::unexpected<Error> not_loaded(const char* operation) {
    return fail(ErrorKind::NotLoaded, operation, 0, "the object's maps are not created yet: call load() first");
}

template <class Specs>
std::optional<std::size_t> index_of(const Specs& specs, std::string_view name) noexcept {
    const auto found = std::find_if(specs.begin(), specs.end(), [&](const auto& spec) { return spec.name == name; });
    if (found == specs.end()) return std::nullopt;
    return static_cast<std::size_t>(found - specs.begin());
}

}  // namespace

Object::Object(std::unique_ptr<detail::ObjectState> state) noexcept : state_(std::move(state)) {}
Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

Result<Object> Object::open(std::string_view path) {
    auto bytes = detail::read_whole_file(path, "object open");
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    auto state = detail::parse_object(std::move(*bytes), name_from_path(path));
    if (!state) return std::unexpected(std::move(state.error()));
    return Object(std::move(*state));
}

Result<Object> Object::from_bytes(std::span<const std::byte> bytes, std::string_view name) {
    auto state = detail::parse_object(std::vector<std::byte>(bytes.begin(), bytes.end()), name);
    if (!state) return std::unexpected(std::move(state.error()));
    return Object(std::move(*state));
}

std::span<const ProgramSpec> Object::programs() const noexcept { return state_->program_specs; }
std::span<const ObjectMapSpec> Object::map_specs() const noexcept { return state_->map_specs; }
std::string_view Object::license() const noexcept { return state_->license; }
bool Object::btf_loaded() const noexcept { return static_cast<bool>(state_->btf_fd); }
const Error* Object::btf_error() const noexcept {
    const auto& error = state_->btf_error;
    return error ? &*error : nullptr;
}

Result<void> Object::set_global(std::string_view name, std::span<const std::byte> value) {
    if (state_->loaded) {
        return fail(ErrorKind::InvalidArgument, "set_global", 0,
                    detail::concat({"global '", name, "' cannot be set after load(): its map holds it now (write the map instead)"}));
    }
    for (const auto& symbol : state_->elf.symbols()) {
        if (symbol.name != name || symbol.type != STT_OBJECT) continue;
        for (auto& map : state_->maps) {
            if (map.origin != detail::MapOrigin::GlobalData || map.section != symbol.section) continue;
            if (symbol.size != value.size()) {
                return fail(ErrorKind::InvalidArgument, "set_global", 0,
                            detail::concat({"global '", name, "' is ", symbol.size, " bytes; the value given is ", value.size()}));
            }
            if (symbol.value > map.size || map.size - symbol.value < value.size()) {
                return fail(ErrorKind::InvalidArgument, "set_global", 0,
                            detail::concat({"global '", name, "' lies outside its section"}));
            }
            if (map.initial.empty()) map.initial = map.initial_bytes();
            if (!value.empty()) std::memcpy(map.initial.data() + symbol.value, value.data(), value.size());
            return {};
        }
    }
    return fail(ErrorKind::NotFound, "set_global", 0,
                detail::concat({"the object has no global variable '", name, "' in .data, .rodata or .bss (a static variable the "
                                "compiler optimised away, or a misspelt name?)"}));
}

Result<void> Object::load(const ObjectOptions& options) { return detail::load_object(*state_, options); }

namespace {

Result<OwnedFd> duplicate(int fd) {
    const int copy = detail::os::dup_cloexec(fd, 3);
    if (copy < 0) return std::unexpected(Error::from_errno("F_DUPFD_CLOEXEC", -copy, "duplicating a map or BTF fd for a program"));
    return OwnedFd(copy);
}

}  // namespace

Result<Program> Object::take_program(std::string_view name) const {
    const auto& state = *state_;
    if (!state.loaded) return not_loaded("object program");
    const auto index = index_of(state.program_specs, name);
    if (!index) {
        std::string names;
        for (const auto& spec : state.program_specs) names.append(names.empty() ? "" : ", ").append(spec.name);
        return fail(ErrorKind::NotFound, "object program", 0,
                    detail::concat({"the object has no program '", name, "' (it has: ", names.empty() ? "none" : names, ")"}));
    }
    const ProgramSpec& spec = state.program_specs[*index];
    if (!spec.is_socket_filter) {
        return fail(ErrorKind::UnexpectedProgramType, "object program", 0,
                    detail::concat({"program '", name, "' is in section '", spec.section,
                                    "', not a socket filter section (socket, socket/<name> or socket<N>)"}));
    }
    auto assembled = detail::assemble_program(state, *index);
    if (!assembled) return std::unexpected(std::move(assembled.error()));
    auto program = Program::make(std::string_view(spec.name).substr(0, BPF_OBJ_NAME_LEN - 1), assembled->instructions, state.license);
    if (!program) return std::unexpected(std::move(program.error()));
    // The program gets its own duplicate of each fd it names, so it can be loaded after this Object is gone.
    auto& resources = program->resources_;
    std::vector<std::pair<std::size_t, int>> duplicated;  // (map index, duplicate fd)
    for (const auto& [instruction, map] : assembled->map_uses) {
        auto known = std::ranges::find_if(duplicated, [&](const auto& entry) { return entry.first == map; });
        if (known == duplicated.end()) {
            auto copy = duplicate(state.maps[map].fd());
            if (!copy) return std::unexpected(std::move(copy.error()));
            duplicated.emplace_back(map, copy->get());
            resources.map_fds.push_back(std::move(*copy));
            known = duplicated.end() - 1;
        }
        program->instructions_[instruction].immediate = known->second;
    }
    if (state.btf_fd && state.btf_ext && !assembled->func_info.empty()) {
        auto btf = duplicate(state.btf_fd.get());
        if (!btf) return std::unexpected(std::move(btf.error()));
        resources.btf_fd = std::move(*btf);
        resources.func_info = std::move(assembled->func_info);
        resources.func_info_record_size = state.btf_ext->func_info_record_size;
        resources.line_info = std::move(assembled->line_info);
        resources.line_info_record_size = state.btf_ext->line_info_record_size;
    }
    return program;
}

Result<SocketFilter> Object::socket_filter(std::string_view name) const {
    auto program = take_program(name);
    if (!program) return std::unexpected(std::move(program.error()));
    return SocketFilter(std::move(*program));
}

Result<ReusePortSocketFilter> Object::reuseport_socket_filter(std::string_view name) const {
    auto program = take_program(name);
    if (!program) return std::unexpected(std::move(program.error()));
    return ReusePortSocketFilter(std::move(*program));
}

Result<std::reference_wrapper<Map>> Object::map(std::string_view name) {
    if (!state_->loaded) return not_loaded("object map");
    const auto index = index_of(state_->map_specs, name);
    if (!index || !state_->maps[*index].map) {
        return fail(ErrorKind::NotFound, "object map", 0,
                    detail::concat({"the object has no map '", name, "'", index ? " any more (taken out with take_map())" : ""}));
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked just above; the check loses track through state_->
    return std::ref(*state_->maps[*index].map);
}

Result<Map> Object::take_map(std::string_view name) {
    auto found = map(name);
    if (!found) return std::unexpected(std::move(found.error()));
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): map() found the name, so it has an index
    auto& entry = state_->maps[*index_of(state_->map_specs, name)];
    Map& found_map = found->get();  // *entry.map
    auto kept = found_map.fd().try_clone();
    if (!kept) return std::unexpected(std::move(kept.error()));
    entry.kept_fd = std::move(*kept);
    Map taken = std::move(found_map);
    entry.map.reset();
    return taken;
}

}  // namespace sockfilter
