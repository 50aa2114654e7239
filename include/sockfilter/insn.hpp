// Insn: one eBPF instruction, and constexpr builders to write filters inline in C++.
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

namespace sockfilter {

/// One eBPF instruction, laid out exactly as the kernel's `struct bpf_insn` (8 bytes), so a
/// std::span<const Insn> is passed to BPF_PROG_LOAD as it is.
struct Insn {
    std::uint8_t code = 0;        ///< opcode: class | size/op | mode/source
    std::uint8_t regs = 0;        ///< destination register in the low nibble, source in the high nibble
    std::int16_t offset = 0;      ///< jump offset or memory offset
    std::int32_t immediate = 0;   ///< immediate value

    /// Destination register number (0–10).
    [[nodiscard]] constexpr std::uint8_t dst() const noexcept { return regs & 0x0f; }
    /// Source register number (0–10), or a pseudo source for 64-bit immediate loads.
    [[nodiscard]] constexpr std::uint8_t src() const noexcept { return static_cast<std::uint8_t>(regs >> 4); }

    friend constexpr bool operator==(const Insn&, const Insn&) = default;
};

static_assert(sizeof(Insn) == sizeof(bpf_insn) && alignof(Insn) <= alignof(bpf_insn));
static_assert(offsetof(Insn, code) == offsetof(bpf_insn, code));
static_assert(offsetof(Insn, offset) == offsetof(bpf_insn, off));
static_assert(offsetof(Insn, immediate) == offsetof(bpf_insn, imm));
static_assert(std::is_trivially_copyable_v<Insn> && std::is_standard_layout_v<Insn>);

/// Constexpr builders for eBPF instructions. Read a `struct __sk_buff` field
/// with `ldx_mem(Size::W, Reg::R0, Reg::R1, offsetof(__sk_buff, len))`.
namespace insn {

/// The eleven registers: r0 return value, r1–r5 arguments (r1 = context on entry), r6–r9 callee-saved,
/// r10 read-only frame pointer.
enum class Reg : std::uint8_t { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

/// Memory access width.
enum class Size : std::uint8_t { B = BPF_B, H = BPF_H, W = BPF_W, DW = BPF_DW };

/// Arithmetic operations (for alu64/alu32 and their _imm forms).
enum class Alu : std::uint8_t {
    Add = BPF_ADD, Sub = BPF_SUB, Mul = BPF_MUL, Div = BPF_DIV, Or = BPF_OR, And = BPF_AND, Lsh = BPF_LSH,
    Rsh = BPF_RSH, Neg = BPF_NEG, Mod = BPF_MOD, Xor = BPF_XOR, Mov = BPF_MOV, Arsh = BPF_ARSH,
};

/// Conditional jump tests (unsigned unless named S…).
enum class Jmp : std::uint8_t {
    Eq = BPF_JEQ, Gt = BPF_JGT, Ge = BPF_JGE, Set = BPF_JSET, Ne = BPF_JNE, SGt = BPF_JSGT, SGe = BPF_JSGE,
    Lt = BPF_JLT, Le = BPF_JLE, SLt = BPF_JSLT, SLe = BPF_JSLE,
};

namespace detail {
constexpr std::uint8_t regs(Reg dst, Reg src) noexcept {
    return static_cast<std::uint8_t>(static_cast<unsigned>(dst) | (static_cast<unsigned>(src) << 4));
}
constexpr Insn make(unsigned code, Reg dst, Reg src, std::int16_t offset, std::int32_t immediate) noexcept {
    return Insn{static_cast<std::uint8_t>(code), regs(dst, src), offset, immediate};
}
template <typename Part>
inline constexpr std::size_t slots = std::tuple_size_v<Part>;
template <>
inline constexpr std::size_t slots<Insn> = 1;
}  // namespace detail

/// dst = dst OP src, 64-bit.
constexpr Insn alu64(Alu op, Reg dst, Reg src) noexcept {
    return detail::make(BPF_ALU64 | static_cast<unsigned>(op) | BPF_X, dst, src, 0, 0);
}
/// dst = dst OP imm, 64-bit (imm sign-extended).
constexpr Insn alu64_imm(Alu op, Reg dst, std::int32_t imm) noexcept {
    return detail::make(BPF_ALU64 | static_cast<unsigned>(op) | BPF_K, dst, Reg::R0, 0, imm);
}
/// dst = dst OP src, 32-bit (upper half of dst zeroed).
constexpr Insn alu32(Alu op, Reg dst, Reg src) noexcept {
    return detail::make(BPF_ALU | static_cast<unsigned>(op) | BPF_X, dst, src, 0, 0);
}
/// dst = dst OP imm, 32-bit (upper half of dst zeroed).
constexpr Insn alu32_imm(Alu op, Reg dst, std::int32_t imm) noexcept {
    return detail::make(BPF_ALU | static_cast<unsigned>(op) | BPF_K, dst, Reg::R0, 0, imm);
}
/// dst = src, 64-bit.
constexpr Insn mov64(Reg dst, Reg src) noexcept { return alu64(Alu::Mov, dst, src); }
/// dst = imm (sign-extended to 64 bits).
constexpr Insn mov64_imm(Reg dst, std::int32_t imm) noexcept { return alu64_imm(Alu::Mov, dst, imm); }
/// dst = (u32)src.
constexpr Insn mov32(Reg dst, Reg src) noexcept { return alu32(Alu::Mov, dst, src); }
/// dst = (u32)imm.
constexpr Insn mov32_imm(Reg dst, std::int32_t imm) noexcept { return alu32_imm(Alu::Mov, dst, imm); }

/// r0 = packet bytes at absolute offset `offset` (network byte order converted to host), for socket
/// filters; r6 must hold the context (r1 on entry). Out-of-packet loads end the program with 0 (drop).
constexpr Insn ld_abs(Size size, std::int32_t offset) noexcept {
    return detail::make(BPF_LD | static_cast<unsigned>(size) | BPF_ABS, Reg::R0, Reg::R0, 0, offset);
}
/// r0 = packet bytes at offset src + `offset` (as ld_abs, with a register index).
constexpr Insn ld_ind(Size size, Reg src, std::int32_t offset) noexcept {
    return detail::make(BPF_LD | static_cast<unsigned>(size) | BPF_IND, Reg::R0, src, 0, offset);
}
/// dst = *(size *)(src + offset).
constexpr Insn ldx_mem(Size size, Reg dst, Reg src, std::int16_t offset) noexcept {
    return detail::make(BPF_LDX | static_cast<unsigned>(size) | BPF_MEM, dst, src, offset, 0);
}
/// *(size *)(dst + offset) = src.
constexpr Insn stx_mem(Size size, Reg dst, Reg src, std::int16_t offset) noexcept {
    return detail::make(BPF_STX | static_cast<unsigned>(size) | BPF_MEM, dst, src, offset, 0);
}
/// *(size *)(dst + offset) = imm.
constexpr Insn st_mem(Size size, Reg dst, std::int16_t offset, std::int32_t imm) noexcept {
    return detail::make(BPF_ST | static_cast<unsigned>(size) | BPF_MEM, dst, Reg::R0, offset, imm);
}
/// lock *(u32/u64 *)(dst + offset) += src (atomic add; Size::W or Size::DW).
constexpr Insn atomic_add(Size size, Reg dst, Reg src, std::int16_t offset) noexcept {
    return detail::make(BPF_STX | static_cast<unsigned>(size) | BPF_ATOMIC, dst, src, offset, BPF_ADD);
}

/// if (dst OP src) goto pc + 1 + offset, 64-bit compare.
constexpr Insn jmp(Jmp op, Reg dst, Reg src, std::int16_t offset) noexcept {
    return detail::make(BPF_JMP | static_cast<unsigned>(op) | BPF_X, dst, src, offset, 0);
}
/// if (dst OP imm) goto pc + 1 + offset, 64-bit compare.
constexpr Insn jmp_imm(Jmp op, Reg dst, std::int32_t imm, std::int16_t offset) noexcept {
    return detail::make(BPF_JMP | static_cast<unsigned>(op) | BPF_K, dst, Reg::R0, offset, imm);
}
/// if ((u32)dst OP (u32)src) goto pc + 1 + offset (Linux 5.1+).
constexpr Insn jmp32(Jmp op, Reg dst, Reg src, std::int16_t offset) noexcept {
    return detail::make(BPF_JMP32 | static_cast<unsigned>(op) | BPF_X, dst, src, offset, 0);
}
/// if ((u32)dst OP imm) goto pc + 1 + offset (Linux 5.1+).
constexpr Insn jmp32_imm(Jmp op, Reg dst, std::int32_t imm, std::int16_t offset) noexcept {
    return detail::make(BPF_JMP32 | static_cast<unsigned>(op) | BPF_K, dst, Reg::R0, offset, imm);
}
/// goto pc + 1 + offset.
constexpr Insn ja(std::int16_t offset) noexcept { return detail::make(BPF_JMP | BPF_JA, Reg::R0, Reg::R0, offset, 0); }
/// Calls kernel helper `helper` (a BPF_FUNC_* value); arguments in r1–r5, result in r0.
constexpr Insn call(std::int32_t helper) noexcept {
    return detail::make(BPF_JMP | BPF_CALL, Reg::R0, Reg::R0, 0, helper);
}
/// Returns r0 from the program.
constexpr Insn exit() noexcept { return detail::make(BPF_JMP | BPF_EXIT, Reg::R0, Reg::R0, 0, 0); }

/// dst = imm64: the one instruction that takes two slots.
constexpr std::array<Insn, 2> ld_imm64(Reg dst, std::uint64_t value) noexcept {
    // NOLINTNEXTLINE(misc-redundant-expression): BPF_LD and BPF_IMM are both 0; the opcode is spelt out as the kernel's is
    return {detail::make(BPF_LD | BPF_DW | BPF_IMM, dst, Reg::R0, 0, static_cast<std::int32_t>(value & 0xffffffffu)),
            Insn{0, 0, 0, static_cast<std::int32_t>(value >> 32)}};
}

/// dst = the map behind `map_fd` (BPF_PSEUDO_MAP_FD): the kernel swaps the fd for the map at load time.
constexpr std::array<Insn, 2> ld_map_fd(Reg dst, int map_fd) noexcept {
    // NOLINTNEXTLINE(misc-redundant-expression): BPF_LD and BPF_IMM are both 0; the opcode is spelt out as the kernel's is
    return {detail::make(BPF_LD | BPF_DW | BPF_IMM, dst, static_cast<Reg>(BPF_PSEUDO_MAP_FD), 0, map_fd),
            Insn{0, 0, 0, 0}};
}

/// Joins instructions and two-slot groups (from ld_imm64) into one array:
/// `constexpr auto prog = insn::program(insn::ld_imm64(Reg::R0, 1), insn::exit());`
template <typename... Parts>
constexpr auto program(const Parts&... parts) noexcept {
    constexpr std::size_t count = (std::size_t{0} + ... + detail::slots<Parts>);
    std::array<Insn, count> out{};
    std::size_t at = 0;
    auto put = [&](const auto& part) {
        if constexpr (std::is_same_v<std::decay_t<decltype(part)>, Insn>) out[at++] = part;
        else for (const Insn& one : part) out[at++] = one;
    };
    (put(parts), ...);
    return out;
}

}  // namespace insn
}  // namespace sockfilter
