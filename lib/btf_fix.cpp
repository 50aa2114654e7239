// Btf::fixed_for_kernel: the DATASEC sizes and VAR offsets clang leaves 0, filled in as libbpf does before
// BPF_BTF_LOAD.
#include <linux/btf.h>

#include <algorithm>

#include "btf.hpp"
#include "btf_bytes.hpp"
#include "text.hpp"

namespace sockfilter::detail::btf {

namespace {

/// One btf_var_secinfo, to be sorted by offset (the kernel wants them in order).
struct SecInfo {
    std::uint32_t type = 0;
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    std::uint32_t order = 0;  ///< position in the DATASEC, so that equal offsets keep their order
};

/// Sections of extern variables, which libbpf fills from the kernel's config and symbols.
bool extern_section(std::string_view section) noexcept { return section == ".kconfig" || section == ".ksyms"; }

}  // namespace

Result<std::vector<std::byte>> Btf::fixed_for_kernel(
    const std::function<std::optional<std::uint32_t>(std::string_view section)>& section_size,
    const std::function<std::optional<std::uint32_t>(std::string_view section, std::string_view variable)>&
        symbol_offset) const {
    std::vector<std::byte> fixed(bytes_.begin(), bytes_.end());
    const auto types = std::span(fixed).subspan(static_cast<std::size_t>(types_.data() - bytes_.data()), types_.size());
    for (std::uint32_t id = 1; id < type_count(); ++id) {
        const Record rec = record(id);
        if (rec.kind() != BTF_KIND_DATASEC) continue;
        const std::string_view section = name(rec.name_off);
        const auto size = section_size(section);
        if (!size && extern_section(section))
            return fail(ErrorKind::NotSupported, "BTF", 0,
                        concat({"DATASEC \"", section, "\": extern variables (.kconfig, .ksyms) are not supported"}));
        if (!size) return malformed(concat({"DATASEC \"", section, "\": the object has no section of that name"}));
        store_u32(types, rec.offset + offsetof(btf_type, size), *size);

        std::vector<SecInfo> infos(rec.vlen());
        const std::size_t first = rec.offset + sizeof(btf_type);
        for (std::uint32_t i = 0; i < rec.vlen(); ++i) {
            const std::size_t at = first + i * sizeof(btf_var_secinfo);
            SecInfo& info = infos[i];
            info = {word(at + offsetof(btf_var_secinfo, type)), word(at + offsetof(btf_var_secinfo, offset)),
                    word(at + offsetof(btf_var_secinfo, size)), i};
            if (info.type == 0 || record(info.type).kind() != BTF_KIND_VAR)
                return malformed(concat({"DATASEC \"", section, "\" entry ", std::uint64_t{i}, ": type ",
                                         std::uint64_t{info.type}, " is not a VAR"}));
            const Record var = record(info.type);
            // Like libbpf: static and extern variables keep the offset clang wrote.
            const std::uint32_t linkage = word(var.offset + sizeof(btf_type) + offsetof(btf_var, linkage));
            if (linkage == BTF_VAR_STATIC || linkage == BTF_VAR_GLOBAL_EXTERN) continue;
            const std::string_view variable = name(var.name_off);
            const auto offset = symbol_offset(section, variable);
            if (!offset)
                return malformed(concat({"DATASEC \"", section, "\": variable \"", variable, "\" has no symbol"}));
            info.offset = *offset;
        }
        std::ranges::sort(infos, [](const SecInfo& a, const SecInfo& b) {
            return a.offset != b.offset ? a.offset < b.offset : a.order < b.order;
        });
        for (std::uint32_t i = 0; i < rec.vlen(); ++i) {
            const std::size_t at = first + i * sizeof(btf_var_secinfo);
            store_u32(types, at + offsetof(btf_var_secinfo, type), infos[i].type);
            store_u32(types, at + offsetof(btf_var_secinfo, offset), infos[i].offset);
            store_u32(types, at + offsetof(btf_var_secinfo, size), infos[i].size);
        }
    }
    return fixed;
}

}  // namespace sockfilter::detail::btf
