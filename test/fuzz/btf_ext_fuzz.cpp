// libFuzzer target: the .BTF.ext reader (lib/btf.hpp, Ext::parse). The input is a .BTF and a .BTF.ext
// together: a little-endian u32 length n, n bytes of .BTF, then the .BTF.ext (seeds are the pairs clang
// writes into the test objects), so the fuzzer mutates both the names' string table and the records.
// After a successful parse: every record is record_size bytes inside the .BTF.ext, starts with its
// insn_offset, and every section name is a string of the .BTF.
#include <cstring>

#include "btf.hpp"
#include "fuzz_check.hpp"

using namespace sockfilter::detail;
using sockfilter_fuzz::check;
using sockfilter_fuzz::inside;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint32_t btf_size = 0;
    if (size < sizeof btf_size) return 0;
    std::memcpy(&btf_size, data, sizeof btf_size);
    const auto rest = sockfilter_fuzz::bytes_of(data, size).subspan(sizeof btf_size);
    if (btf_size > rest.size()) return 0;
    const auto btf_bytes = rest.first(btf_size);
    const auto ext_bytes = rest.subspan(btf_size);

    const auto types = btf::Btf::parse(btf_bytes);
    if (!types) return 0;
    const auto ext = btf::Ext::parse(ext_bytes, *types);
    if (!ext) {
        check(!ext.error().message().empty(), "a BTF.ext error has a message");
        return 0;
    }
    for (const btf::ExtSection& section : ext->sections) {
        check(inside(section.section, btf_bytes), "section name lies inside the .BTF");
        const auto records_ok = [&](const std::vector<btf::ExtRecord>& records, std::uint32_t record_size) {
            for (const btf::ExtRecord& record : records) {
                check(record.record.size() == record_size, "a record is record_size bytes");
                check(inside(record.record, ext_bytes), "a record lies inside the .BTF.ext");
                std::uint32_t first = 0;
                std::memcpy(&first, record.record.data(), sizeof first);
                check(first == record.insn_offset, "a record starts with its insn_offset");
            }
        };
        records_ok(section.func_info, ext->func_info_record_size);
        records_ok(section.line_info, ext->line_info_record_size);
    }
    return 0;
}
