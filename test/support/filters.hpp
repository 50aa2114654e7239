// Test support: small socket filters written with the instruction builders.
#pragma once

#include <linux/bpf.h>

#include <cstddef>

#include "sockfilter/insn.hpp"

namespace sockfilter_test::filters {

using namespace sockfilter::insn;

/// Keeps every packet whole: return skb->len.
inline constexpr auto pass = program(ldx_mem(Size::W, Reg::R0, Reg::R1, offsetof(__sk_buff, len)), exit());

/// Drops every packet: return 0.
inline constexpr auto drop_all = program(mov64_imm(Reg::R0, 0), exit());

/// Keeps all but the last `cut` bytes: return skb->len - cut.
template <int cut>
inline constexpr auto trim_tail = program(ldx_mem(Size::W, Reg::R0, Reg::R1, offsetof(__sk_buff, len)),
                                          alu64_imm(Alu::Sub, Reg::R0, cut), exit());

/// Drops packets whose byte at `offset` (in the socket's view: 8 = first UDP payload byte) equals `byte`.
template <int offset, int byte>
inline constexpr auto drop_if_byte = program(
    mov64(Reg::R6, Reg::R1),                        // LD_ABS reads the packet through r6
    ld_abs(Size::B, offset),                        // r0 = packet[offset]
    jmp_imm(Jmp::Eq, Reg::R0, byte, 2),             // equal → drop
    ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
    exit(),
    mov64_imm(Reg::R0, 0),
    exit());

/// Counts packets in slot 0 of the array map behind `map_fd` (8-byte values; per-CPU arrays too) and keeps
/// every packet whole.
inline constexpr auto count_into(int map_fd) {
    return program(mov64(Reg::R6, Reg::R1),
                   st_mem(Size::W, Reg::R10, -4, 0),  // key = 0
                   mov64(Reg::R2, Reg::R10),
                   alu64_imm(Alu::Add, Reg::R2, -4),
                   ld_map_fd(Reg::R1, map_fd),
                   call(BPF_FUNC_map_lookup_elem),
                   jmp_imm(Jmp::Eq, Reg::R0, 0, 2),  // no value: skip the count
                   mov64_imm(Reg::R1, 1),
                   atomic_add(Size::DW, Reg::R0, Reg::R1, 0),  // ++count
                   ldx_mem(Size::W, Reg::R0, Reg::R6, offsetof(__sk_buff, len)),
                   exit());
}

/// Returns a constant (for reuseport: the index of the socket to pick).
template <int value>
inline constexpr auto return_constant = program(mov64_imm(Reg::R0, value), exit());

}  // namespace sockfilter_test::filters
