// Private: the small pieces the BTF and BTF.ext readers share: unaligned native-endian words, kind names,
// and the error every malformed input gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail::btf {

/// The u32 at `offset` of `bytes` (the caller checked offset + 4 ≤ size), in the host's byte order.
[[nodiscard]] inline std::uint32_t load_u32(std::span<const std::byte> bytes, std::size_t offset) noexcept {
    std::uint32_t value = 0;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

/// The u16 at `offset` of `bytes` (the caller checked offset + 2 ≤ size), in the host's byte order.
[[nodiscard]] inline std::uint16_t load_u16(std::span<const std::byte> bytes, std::size_t offset) noexcept {
    std::uint16_t value = 0;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

/// Writes `value` at `offset` of `bytes` (the caller checked offset + 4 ≤ size).
inline void store_u32(std::span<std::byte> bytes, std::size_t offset, std::uint32_t value) noexcept {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

/// The name of BTF_KIND_* `kind` without the prefix ("STRUCT", "DATASEC"), or "unknown".
[[nodiscard]] std::string_view kind_name(std::uint32_t kind) noexcept;

/// The error of a malformed .BTF: InvalidArgument, operation "BTF".
[[nodiscard]] inline std::unexpected<Error> malformed(std::string detail) {
    return fail(ErrorKind::InvalidArgument, "BTF", 0, std::move(detail));
}

}  // namespace sockfilter::detail::btf
