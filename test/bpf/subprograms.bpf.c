// subprograms: BPF-to-BPF calls the loader must relocate (call offsets from the program's section into
// .text) and append once per program. In .text: add_one (static), global_mix (global, non-static: with
// BTF the kernel verifies it on its own, with its BTF_FUNC_GLOBAL linkage) which calls add_one, and
// subtract_seven (static). Three programs:
//   computed_len (SEC "socket")        returns subtract_seven(global_mix(len)) = 3 * (len + 1) - 7 = 3*len - 4
//   second_mix   (SEC "socket/second") returns global_mix(len)                 = 3 * (len + 1)     = 3*len + 3
//   second_sub   (SEC "socket/second") returns subtract_seven(len)             = len - 7
// (len = skb->len; two programs in one section, each sharing subprograms with the others.)
// Test: BPF_PROG_TEST_RUN each (or attach) and check its return value against skb->len: a missing or
// misplaced call gives another number. As socket filters: computed_len and second_mix keep a whole
// packet (3*len - 4 >= len for len >= 2), second_sub trims the last 7 bytes. BPF_PROG_TEST_RUN of a socket
// filter with 100 bytes of data runs with skb->len == 86 (the 14-byte Ethernet header is pulled): 254, 261
// and 79 (checked on Linux 6.18 with libbpf).
// "socket/second": libbpf 1.x does not guess a type for "socket/<name>" (only "socket" exactly), so bpftool
// needs "type socket" (bpftool prog loadall subprograms.bpf.o DIR type socket).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u32 add_one(__u32 x)
{
	return x + 1;
}

__noinline __u32 global_mix(__u32 x)
{
	return add_one(x) * 3;
}

static __noinline __u32 subtract_seven(__u32 x)
{
	return x - 7;
}

SEC("socket")
int computed_len(struct __sk_buff *skb)
{
	return subtract_seven(global_mix(skb->len));
}

SEC("socket/second")
int second_mix(struct __sk_buff *skb)
{
	return global_mix(skb->len);
}

SEC("socket/second")
int second_sub(struct __sk_buff *skb)
{
	return subtract_seven(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
