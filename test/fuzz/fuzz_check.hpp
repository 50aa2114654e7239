// Shared by the libFuzzer targets: the entry point's declaration and an invariant check that stops the
// fuzzer (abort: libFuzzer saves the input as a crash) whatever NDEBUG says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace sockfilter_fuzz {

/// Aborts with `what` when an invariant does not hold.
inline void check(bool holds, const char* what) {
    if (holds) return;
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

/// The fuzzer's input as bytes.
inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) noexcept {
    return std::as_bytes(std::span(data, size));
}

/// True when `part` lies inside `whole` (an empty span always does).
inline bool inside(std::span<const std::byte> part, std::span<const std::byte> whole) noexcept {
    if (part.empty()) return true;
    const auto* begin = whole.data();
    const auto* end = whole.data() + whole.size();
    return part.data() >= begin && part.data() <= end && part.size() <= static_cast<std::size_t>(end - part.data());
}

/// True when the characters of `text` lie inside `whole`.
inline bool inside(std::string_view text, std::span<const std::byte> whole) noexcept {
    return inside(std::as_bytes(std::span(text.data(), text.size())), whole);
}

}  // namespace sockfilter_fuzz
