/* Footprint comparison: the same job with libbpf's low-level API (bpf/bpf.h). */
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    const struct bpf_insn program[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "footprint", "GPL", program, 2, NULL);
    if (prog < 0) return perror("bpf_prog_load"), 1;
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) != 0) return perror("attach"), 1;
    unsigned char frame[64] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof frame);
    if (bpf_prog_test_run_opts(prog, &run) != 0) return perror("test run"), 1;
    printf("libbpf: return value %u\n", run.retval);
    close(sock);
    close(prog);
    return 0;
}
