// Footprint baseline: the same job as with_sockfilter.cpp done with raw bpf(2) calls and no library, in a
// C++ program that, like most, already uses std::string and std::error_code (so libstdc++'s string and
// exception runtime are in every binary compared).
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

int main() {
    const bpf_insn program[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    load.insn_cnt = 2;
    load.insns = reinterpret_cast<unsigned long>(program);
    load.license = reinterpret_cast<unsigned long>("GPL");
    const int prog = static_cast<int>(syscall(__NR_bpf, BPF_PROG_LOAD, &load, sizeof load));
    if (prog < 0) {
        // Error text through std::string and std::error_code, as any C++ program that reports errors has.
        const std::string text = "BPF_PROG_LOAD: " + std::generic_category().message(errno) + " " + std::to_string(prog);
        return std::puts(text.c_str()), 1;
    }
    const int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) != 0) return std::perror("attach"), 1;
    unsigned char frame[64] = {};
    bpf_attr run{};
    run.test.prog_fd = static_cast<unsigned>(prog);
    run.test.data_in = reinterpret_cast<unsigned long>(frame);
    run.test.data_size_in = sizeof frame;
    if (syscall(__NR_bpf, BPF_PROG_TEST_RUN, &run, sizeof run) != 0) return std::perror("test run"), 1;
    std::printf("raw: return value %u\n", run.test.retval);
    close(sock);
    close(prog);
    return 0;
}
