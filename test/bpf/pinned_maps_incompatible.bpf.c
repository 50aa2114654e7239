// pinned_maps_incompatible: declares `pinned_counts` pinned by name like pinned_maps.bpf.c, but with a
// 4-byte value (__u32) instead of 8 (type, key size and max_entries are the same). Loaded alone into an
// empty pin directory it loads and pins; loaded while pinned_maps' map is pinned in the same directory it
// must fail (incompatible pinned map: value_size 4 vs 8) without replacing or removing the pin.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

SEC("socket")
int count_pinned_narrow(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u32 *packets = bpf_map_lookup_elem(&pinned_counts, &key);
	if (packets) {
		__sync_fetch_and_add(packets, 1);
	} else {
		__u32 one = 1;
		bpf_map_update_elem(&pinned_counts, &key, &one, BPF_NOEXIST);
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
