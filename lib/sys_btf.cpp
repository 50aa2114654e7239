// sys:: BTF commands: BPF_BTF_LOAD.
#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>

#include "sockfilter/sys.hpp"
#include "sys_common.hpp"
#include "syscall.hpp"
#include "zero.hpp"

namespace sockfilter::sys {

Result<OwnedFd> btf_load(const BtfLoadRequest& request) {
    if (request.btf.size() > UINT32_MAX || request.log.size() > UINT32_MAX) {
        return fail(ErrorKind::InvalidArgument, "BPF_BTF_LOAD", 0, "the BTF blob or log buffer exceeds 4 GiB");
    }
    bpf_attr attr;
    detail::zero(attr);
    attr.btf = detail::pointer_bits(request.btf.data());
    attr.btf_size = static_cast<std::uint32_t>(request.btf.size());
    if (!request.log.empty()) {
        attr.btf_log_buf = detail::pointer_bits(request.log.data());
        attr.btf_log_size = static_cast<std::uint32_t>(request.log.size());
        attr.btf_log_level = request.log_level;
        request.log[0] = '\0';
    }
    return detail::adopt_fd(detail::os::bpf(BPF_BTF_LOAD, &attr, SOCKFILTER_ATTR_END(btf_log_level)), "BPF_BTF_LOAD");
}

}  // namespace sockfilter::sys
