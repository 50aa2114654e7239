// The kernel's rule for object names (bpf_obj_name_cpy): at most 15 of [A-Za-z0-9_.].
#include "object_name.hpp"

#include <linux/bpf.h>

#include <string>

#include "text.hpp"

namespace sockfilter::detail {

Result<void> check_object_name(std::string_view name, const char* operation) {
    if (name.size() >= BPF_OBJ_NAME_LEN) {
        return fail(ErrorKind::InvalidArgument, operation, 0,
                    concat({"\"", name, "\" has ", name.size(), " characters; the kernel allows at most 15"}));
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!is_object_name_char(name[i])) {
            return fail(ErrorKind::InvalidArgument, operation, 0,
                        concat({"character ", i, " of \"", name,
                                "\" is not one of A-Z a-z 0-9 _ . (the only ones the kernel accepts)"}));
        }
    }
    return {};
}

}  // namespace sockfilter::detail
