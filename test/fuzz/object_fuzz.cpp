// libFuzzer target: Object::from_bytes, the whole object parser (ELF, BTF, BTF.ext, maps, globals,
// programs, relocation of every socket filter program). Pure parsing: no syscall until load(), which is
// never called here. After a successful parse: programs and maps are consistent (named, unique, sizes
// that fit the input), the license is text up to its NUL (empty when the section is), and asking for a
// program or map before load() is a NotLoaded error.
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "sockfilter/object.hpp"

using namespace sockfilter;
using sockfilter_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto object = Object::from_bytes(sockfilter_fuzz::bytes_of(data, size), "fuzz");
    if (!object) {
        check(!object.error().message().empty(), "an object error has a message");
        check(object.error().code().value() == 0, "parsing makes no syscall, so no errno");
        return 0;
    }
    std::set<std::string> program_names;
    for (const ProgramSpec& program : object->programs()) {
        check(!program.name.empty(), "a program has a name");
        check(program.instruction_count >= 1, "a program has instructions");
        check(program.instruction_count <= size / 8, "a program's instructions fit in the input");
        check(program_names.insert(program.name).second, "program names are unique");
        const auto taken = object->socket_filter(program.name);
        check(!taken && taken.error().kind() == ErrorKind::NotLoaded, "socket_filter before load() is NotLoaded");
    }
    std::set<std::string> map_names;
    for (const ObjectMapSpec& map : object->map_specs()) {
        check(!map.name.empty(), "a map has a name");
        check(map_names.insert(map.name).second, "map names are unique");
        const auto borrowed = object->map(map.name);
        check(!borrowed && borrowed.error().kind() == ErrorKind::NotLoaded, "map before load() is NotLoaded");
    }
    check(object->license().find('\0') == std::string_view::npos, "the license stops at its NUL");
    check(!object->btf_loaded() && object->btf_error() == nullptr, "nothing is loaded by parsing");
    const auto missing = object->socket_filter("no program has this name");
    check(!missing, "an unknown program is an error");
    return 0;
}
