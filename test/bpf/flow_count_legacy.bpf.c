// flow_count_legacy: a legacy `struct bpf_map_def SEC("maps")` hash map (the pre-BTF iproute2/kernel
// samples style) counting packets per IPv4 destination address. It tests the loader's "maps" section
// parsing. libbpf 1.x dropped legacy map definitions, so bpftool (libbpf 1.1) refuses this object:
// "legacy map definitions in 'maps' section are not supported by libbpf v1.0+".
//
// Socket: AF_INET SOCK_DGRAM (UDP). There skb data starts at the UDP header when the filter runs (the IP
// header is already pulled), so the address is read with bpf_skb_load_bytes_relative(...,
// BPF_HDR_START_NET), relative to the IP header; that works on an AF_PACKET socket too. (Measured on
// Linux 6.18: a UDP socket's filter sees skb->len == 8 + payload, bytes 0-3 = source and destination port.)
// Test: bind a UDP socket to 127.0.0.1, attach, send N datagrams to it, then
// flows[htonl(INADDR_LOOPBACK)] == N: the key is the address as in the packet (network byte order).
// Every datagram is kept.
#include <linux/bpf.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

// libbpf 1.x removed this from bpf_helpers.h; the layout every legacy loader reads.
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") flows = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),   // IPv4 destination address, network byte order
	.value_size = sizeof(__u64), // packets
	.max_entries = 1024,
};

SEC("socket")
int count_flows(struct __sk_buff *skb)
{
	__u32 daddr;
	if (bpf_skb_load_bytes_relative(skb, offsetof(struct iphdr, daddr), &daddr, sizeof(daddr),
					BPF_HDR_START_NET) != 0)
		return skb->len;

	__u64 *packets = bpf_map_lookup_elem(&flows, &daddr);
	if (packets) {
		__sync_fetch_and_add(packets, 1);
	} else {
		__u64 one = 1;
		// A racing first packet may insert it first: then count this one into its entry.
		if (bpf_map_update_elem(&flows, &daddr, &one, BPF_NOEXIST) != 0) {
			packets = bpf_map_lookup_elem(&flows, &daddr);
			if (packets)
				__sync_fetch_and_add(packets, 1);
		}
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
