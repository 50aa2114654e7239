// Private: walking kernel objects by id (BPF_*_GET_NEXT_ID, then BPF_*_GET_FD_BY_ID and an info read).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// Every object from id 0 on: `next_id(id)` gives the id after `id` (NotFound at the end), `open(id)` an fd
/// (NotFound when the object went away meanwhile: skipped), `read(fd)` its info.
template <typename Info, typename NextId, typename Open, typename Read>
Result<std::vector<Info>> walk_ids(NextId next_id, Open open, Read read) {
    std::vector<Info> out;
    std::uint32_t id = 0;
    for (;;) {
        const auto next = next_id(id);
        if (!next) {
            if (next.error().kind() == ErrorKind::NotFound) return out;
            return std::unexpected(next.error());
        }
        id = *next;
        auto fd = open(id);
        if (!fd && fd.error().kind() == ErrorKind::NotFound) continue;
        if (!fd) return std::unexpected(fd.error());
        auto info = read(*fd);
        if (!info) return std::unexpected(info.error());
        out.push_back(std::move(*info));
    }
}

}  // namespace sockfilter::detail
