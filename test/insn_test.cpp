// Insn builders: encodings checked bit for bit, and every instruction class run by the kernel.
#include <catch2/catch.hpp>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bpffs.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "netns.hpp"
#include "skip.hpp"
#include "sockets.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/sys.hpp"

using namespace sockfilter;
using namespace sockfilter::insn;

namespace {

constexpr Insn encoded(std::uint8_t code, std::uint8_t regs, std::int16_t offset, std::int32_t immediate) {
    return Insn{code, regs, offset, immediate};
}

std::string run_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = popen(command.c_str(), "r")) {
        char chunk[256];
        while (std::fgets(chunk, sizeof chunk, pipe) != nullptr) out += chunk;
        pclose(pipe);
    }
    return out;
}

}  // namespace

TEST_CASE("insn encodings") {
    // Opcode values from the eBPF instruction set: class | size/op | mode/source.
    STATIC_REQUIRE(exit() == encoded(0x95, 0x00, 0, 0));
    STATIC_REQUIRE(mov64_imm(Reg::R0, 1) == encoded(0xb7, 0x00, 0, 1));
    STATIC_REQUIRE(mov64(Reg::R6, Reg::R1) == encoded(0xbf, 0x16, 0, 0));
    STATIC_REQUIRE(mov32_imm(Reg::R2, -1) == encoded(0xb4, 0x02, 0, -1));
    STATIC_REQUIRE(mov32(Reg::R2, Reg::R3) == encoded(0xbc, 0x32, 0, 0));
    STATIC_REQUIRE(alu64(Alu::Xor, Reg::R1, Reg::R2) == encoded(0xaf, 0x21, 0, 0));
    STATIC_REQUIRE(alu64_imm(Alu::Sub, Reg::R0, 4) == encoded(0x17, 0x00, 0, 4));
    STATIC_REQUIRE(alu32_imm(Alu::Add, Reg::R1, 3) == encoded(0x04, 0x01, 0, 3));
    STATIC_REQUIRE(alu32(Alu::Rsh, Reg::R1, Reg::R2) == encoded(0x7c, 0x21, 0, 0));
    STATIC_REQUIRE(ld_abs(Size::B, 8) == encoded(0x30, 0x00, 0, 8));
    STATIC_REQUIRE(ld_ind(Size::H, Reg::R2, 4) == encoded(0x48, 0x20, 0, 4));
    STATIC_REQUIRE(ldx_mem(Size::W, Reg::R0, Reg::R1, 0) == encoded(0x61, 0x10, 0, 0));
    STATIC_REQUIRE(stx_mem(Size::DW, Reg::R10, Reg::R1, -8) == encoded(0x7b, 0x1a, -8, 0));
    STATIC_REQUIRE(st_mem(Size::W, Reg::R10, -4, 7) == encoded(0x62, 0x0a, -4, 7));
    STATIC_REQUIRE(atomic_add(Size::DW, Reg::R1, Reg::R2, 0) == encoded(0xdb, 0x21, 0, 0));
    STATIC_REQUIRE(jmp_imm(Jmp::Eq, Reg::R0, 'X', 2) == encoded(0x15, 0x00, 2, 'X'));
    STATIC_REQUIRE(jmp(Jmp::Gt, Reg::R1, Reg::R2, -3) == encoded(0x2d, 0x21, -3, 0));
    STATIC_REQUIRE(jmp32_imm(Jmp::Ne, Reg::R1, 5, 1) == encoded(0x56, 0x01, 1, 5));
    STATIC_REQUIRE(jmp32(Jmp::SLt, Reg::R1, Reg::R2, 1) == encoded(0xce, 0x21, 1, 0));
    STATIC_REQUIRE(ja(4) == encoded(0x05, 0x00, 4, 0));
    STATIC_REQUIRE(call(BPF_FUNC_map_lookup_elem) == encoded(0x85, 0x00, 0, 1));
    STATIC_REQUIRE(ld_imm64(Reg::R1, 0x1122334455667788ULL) ==
                   std::array{encoded(0x18, 0x01, 0, 0x55667788), encoded(0, 0, 0, 0x11223344)});
    STATIC_REQUIRE(ld_map_fd(Reg::R1, 7) == std::array{encoded(0x18, 0x11, 0, 7), encoded(0, 0, 0, 0)});
    STATIC_REQUIRE(ld_imm64(Reg::R1, 1)[0].dst() == 1);
    STATIC_REQUIRE(program(mov64_imm(Reg::R0, 0), ld_imm64(Reg::R1, 2), exit()).size() == 4);
}

TEST_CASE("insn classes run by the kernel") {
    REQUIRE_FEATURE(jmp32);
    // Exercises ALU64/ALU32, stack store and load, 64-bit immediates, LD_ABS/LD_IND, JMP/JMP32, a helper
    // call and EXIT, and returns a value only a correct encoding of each yields.
    constexpr auto everything = program(
        mov64(Reg::R6, Reg::R1),                         // r6 = ctx (LD_ABS/LD_IND use it)
        ld_abs(Size::B, 0),                              // r0 = data[0] = 0x11
        mov64(Reg::R7, Reg::R0),                         // r7 = 0x11
        mov64_imm(Reg::R2, 1),
        ld_ind(Size::H, Reg::R2, 1),                     // r0 = data[2..3] = 0x2233
        alu64(Alu::Add, Reg::R7, Reg::R0),               // r7 = 0x2244
        ld_imm64(Reg::R3, 0x100000000ULL),               // r3 = 2^32
        alu64(Alu::Add, Reg::R7, Reg::R3),               // r7 = 2^32 + 0x2244
        stx_mem(Size::DW, Reg::R10, Reg::R7, -8),
        ldx_mem(Size::W, Reg::R8, Reg::R10, -4),         // r8 = high word = 1
        st_mem(Size::W, Reg::R10, -12, 5),
        ldx_mem(Size::W, Reg::R9, Reg::R10, -12),        // r9 = 5
        alu32_imm(Alu::Mul, Reg::R9, 3),                 // r9 = 15
        jmp32_imm(Jmp::Ne, Reg::R7, 0x2244, 4),          // low 32 bits of r7 are 0x2244: no jump
        jmp_imm(Jmp::Ne, Reg::R8, 1, 3),                 // r8 == 1: no jump
        call(BPF_FUNC_get_prandom_u32),                  // clobbers r0–r5 only
        mov64(Reg::R0, Reg::R9),                         // r0 = 15
        exit(),
        mov64_imm(Reg::R0, 99),                          // reached only through a wrong encoding
        exit());
    const SocketFilter filter = sockfilter_test::loaded("insn_classes", everything);
    std::array<std::byte, 64> frame{};
    const std::array<std::uint8_t, 4> payload{0x11, 0x99, 0x22, 0x33};
    std::memcpy(frame.data() + 14, payload.data(), payload.size());
    const auto run = filter.test_run({.data_in = frame});
    REQUIRE(run);
    CHECK(run->return_value == 15);
}

TEST_CASE("insn register forms run by the kernel") {
    REQUIRE_FEATURE(jmp32);
    // The register-source ALU, MOV and jump forms, more ALU operations and JA. Every check either skips a
    // penalty (a distinct bit added to r9) or, for a jump that must not be taken, falls through to a JA
    // over it: the result is 27 only when every instruction does what its builder says.
    constexpr auto registers = program(
        mov64_imm(Reg::R9, 0),                   // penalties
        mov64_imm(Reg::R1, 7),
        mov64_imm(Reg::R2, 3),
        alu64(Alu::Mul, Reg::R1, Reg::R2),       // r1 = 21
        alu64_imm(Alu::Or, Reg::R1, 0x100),      // r1 = 277
        alu64_imm(Alu::Mod, Reg::R1, 100),       // r1 = 77
        alu32(Alu::Sub, Reg::R1, Reg::R2),       // r1 = 74
        mov32(Reg::R3, Reg::R1),                 // r3 = 74
        alu64_imm(Alu::Lsh, Reg::R3, 32),        // r3 = 74 << 32
        alu64_imm(Alu::Arsh, Reg::R3, 33),       // r3 = 37
        alu64_imm(Alu::Neg, Reg::R3, 0),         // r3 = -37
        mov64_imm(Reg::R4, -37),
        jmp(Jmp::Eq, Reg::R3, Reg::R4, 1),       // equal: skip the penalty
        alu64_imm(Alu::Add, Reg::R9, 1),
        mov32_imm(Reg::R5, -1),                  // r5 = 0xffffffff, zero-extended
        jmp_imm(Jmp::SGt, Reg::R5, 0, 1),        // as 64 bits it is positive: skip
        alu64_imm(Alu::Add, Reg::R9, 2),
        jmp32_imm(Jmp::SLt, Reg::R5, 0, 1),      // as 32 bits it is -1: skip
        alu64_imm(Alu::Add, Reg::R9, 4),
        jmp32(Jmp::Lt, Reg::R2, Reg::R1, 1),     // 3 < 74: skip
        alu64_imm(Alu::Add, Reg::R9, 8),
        jmp(Jmp::Ge, Reg::R2, Reg::R1, 1),       // 3 >= 74 is false: fall through to the JA
        ja(1),
        alu64_imm(Alu::Add, Reg::R9, 16),
        alu64(Alu::Div, Reg::R1, Reg::R2),       // r1 = 24
        alu64(Alu::Xor, Reg::R1, Reg::R2),       // r1 = 27
        alu64_imm(Alu::And, Reg::R1, 0xff),      // r1 = 27
        alu64(Alu::Add, Reg::R1, Reg::R9),       // + penalties
        mov64(Reg::R0, Reg::R1),
        exit());
    const SocketFilter filter = sockfilter_test::loaded("insn_regs", registers);
    std::array<std::byte, 64> frame{};
    const auto run = filter.test_run({.data_in = frame});
    INFO(sockfilter_test::message_of(run));
    REQUIRE(run.has_value());
    INFO("penalty bits: " << (static_cast<int>(run->return_value) - 27));
    CHECK(run->return_value == 27);
}

TEST_CASE("counting filter with a map") {
    REQUIRE_FEATURE(pins);
    sockfilter_test::TempBpffs bpffs;
    const std::string map_path = bpffs / "counter";
    REQUIRE(sockfilter_test::run("bpftool map create " + map_path + " type array key 4 value 8 entries 1 name counter") == 0);
    const auto map_path_buffer = sys::PathBuffer::from(map_path);
    REQUIRE(map_path_buffer);
    const auto map = sys::obj_get(map_path_buffer->ref());
    REQUIRE(map);

    const auto counting = sockfilter_test::filters::count_into(map->get());
    const SocketFilter filter = sockfilter_test::loaded("count", counting);
    const auto info = filter.info();
    REQUIRE(info);
    // map_ids() (filled by a second BPF_OBJ_GET_INFO_BY_FD) names exactly the map the program uses.
    bpf_map_info map_info;
    std::memset(&map_info, 0, sizeof map_info);
    REQUIRE(sys::obj_get_info_by_fd(map->get(), std::as_writable_bytes(std::span(&map_info, 1))).has_value());
    REQUIRE(map_info.id > 0);
    CHECK(info->map_ids() == std::vector<std::uint32_t>{map_info.id});

    auto pair = sockfilter_test::unix_dgram_pair();
    REQUIRE(filter.attach(pair.receiver.get()));
    for (int i = 0; i < 3; ++i) REQUIRE(send(pair.sender.get(), "counted", 7, 0) == 7);
    CHECK(sockfilter_test::receive_all(pair.receiver.get()).size() == 3);
    const std::string dump = run_output("bpftool map lookup pinned " + map_path + " key 0 0 0 0");
    INFO(dump);
    CHECK(dump.find("value: 03 00 00 00 00 00 00 00") != std::string::npos);
}
