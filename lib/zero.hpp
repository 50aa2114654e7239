// Private: zeroing structures passed to the kernel, padding included.
#pragma once

#include <cstring>
#include <type_traits>

namespace sockfilter::detail {

/// Sets every byte of `value` to zero. `T x{}` only zeroes members: padding (and the bytes of a union
/// beyond its first member) may keep stack garbage, which the kernel refuses (E2BIG) or misreads.
template <typename T>
void zero(T& value) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memset(&value, 0, sizeof value);
}

}  // namespace sockfilter::detail
