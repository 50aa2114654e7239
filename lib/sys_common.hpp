// Private: what every file of sys:: wrappers shares: pointers as bpf_attr bits, attr sizes, adopting fds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sockfilter/error.hpp"
#include "sockfilter/owned_fd.hpp"

namespace sockfilter::detail {

/// A pointer as the kernel's __aligned_u64 field wants it.
template <typename T>
std::uint64_t pointer_bits(const T* pointer) noexcept {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

/// A buffer's pointer bits, or 0 (NULL) for an empty span: the kernel reads "no buffer" from NULL, and a
/// non-NULL pointer with size 0 may be written without bound (test-run data_out).
template <typename T>
std::uint64_t bits_or_null(std::span<T> bytes) noexcept {
    return bytes.empty() ? std::uint64_t{0} : pointer_bits(bytes.data());
}

/// A bpf(2) result that carries nothing: success, or the errno (from `ret` = -errno) for `operation`.
Result<void> void_or_errno(long ret, const char* operation);

/// BPF_PROG_GET_NEXT_ID / BPF_MAP_GET_NEXT_ID (`command`, named `operation`): the id after `start_id`.
Result<std::uint32_t> next_id(int command, std::uint32_t start_id, const char* operation);

/// Size of `union bpf_attr` up to and including the member at `offset` of size `size`.
constexpr unsigned attr_size(std::size_t offset, std::size_t size) noexcept { return static_cast<unsigned>(offset + size); }

/// Owns a fresh fd returned by bpf(2) (`ret`, or -errno), moved above 2 if it landed on 0–2: UAPI treats 0
/// as "no fd", and a process with closed standard streams must not get its BPF fd written to by printf.
/// Errors: the bpf errno for `operation`, or F_DUPFD_CLOEXEC's.
Result<OwnedFd> adopt_fd(long ret, const char* operation);

}  // namespace sockfilter::detail

/// attr_size() of a member of `union bpf_attr`, e.g. SOCKFILTER_ATTR_END(file_flags).
#define SOCKFILTER_ATTR_END(field) ::sockfilter::detail::attr_size(offsetof(bpf_attr, field), sizeof(bpf_attr{}.field))
