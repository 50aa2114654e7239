// percpu_count: a BPF_MAP_TYPE_PERCPU_ARRAY (1 entry, key __u32 0, value __u64 per CPU) counting packets.
// Each CPU increments its own slot (no atomics): the test sums the values of every possible CPU
// (a lookup returns one 8-byte slot per possible CPU, each rounded up to 8 bytes).
// Socket: any (AF_INET SOCK_DGRAM, AF_PACKET, ...); framing does not matter. Test: attach, send N packets
// the socket receives, sum == N (an AF_PACKET ETH_P_ALL socket on lo sees each packet twice, and an IP one
// also sees the ICMP port unreachable a datagram to a closed port brings). Every packet is kept.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_packets SEC(".maps");

SEC("socket")
int count_percpu(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *packets = bpf_map_lookup_elem(&percpu_packets, &key);
	if (packets)
		*packets += 1;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
