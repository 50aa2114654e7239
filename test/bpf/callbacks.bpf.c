// callbacks: a static function passed to bpf_loop (Linux 5.17) as a callback. Its address is an ld_imm64
// with BPF_PSEUDO_FUNC and a relocation against .text, which the loader must relocate like a call.
// loop_sum returns 0 + 1 + … + (skb->len - 1): a BPF_PROG_TEST_RUN with 100 bytes (skb->len 86) gives 3655.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static long add_index(__u32 index, void *context)
{
	__u64 *sum = context;
	*sum += index;
	return 0;
}

SEC("socket")
int loop_sum(struct __sk_buff *skb)
{
	__u64 sum = 0;
	bpf_loop(skb->len, add_index, &sum, 0);
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
