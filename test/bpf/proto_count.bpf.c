// proto_count: per-IPv4-protocol packet and byte counters in two BTF-defined array maps (".maps"),
// read with the legacy LD_ABS packet loads (llvm.bpf.load.*), which the loader must pass through as is.
//
// Socket: AF_PACKET (SOCK_RAW), so skb data starts at the Ethernet header (offset 0 = destination MAC,
// 12 = EtherType, 14 = IPv4 header). Measured on Linux 6.18 over lo: an 8-byte UDP datagram gives
// skb->len == 50 (14 + 20 + 8 + 8). A packet socket bound to ETH_P_ALL sees each lo packet twice (outgoing
// and incoming); bound to htons(ETH_P_IP) it sees it once.
// Test: attach, send N UDP datagrams of P payload bytes over lo, then proto_packets[17] == N and
// proto_bytes[17] == N * (42 + P) (times two with ETH_P_ALL). Non-IPv4 frames are not counted.
// Send to a bound UDP port: a datagram to a closed port brings an ICMP port unreachable, which
// proto_packets[1] counts. Every frame is kept (returns skb->len).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

// Index: the IPv4 protocol byte (IPPROTO_UDP 17, IPPROTO_TCP 6, IPPROTO_ICMP 1, ...).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_packets SEC(".maps");

SEC("socket")
int count_protocols(struct __sk_buff *skb)
{
	// load_half returns the big-endian field in host order.
	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return skb->len;
	__u32 protocol = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));

	__u64 *bytes = bpf_map_lookup_elem(&proto_bytes, &protocol);
	if (bytes)
		__sync_fetch_and_add(bytes, skb->len);
	__u64 *packets = bpf_map_lookup_elem(&proto_packets, &protocol);
	if (packets)
		__sync_fetch_and_add(packets, 1);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
