// pinned_maps: a hash map pinned by name (`__uint(pinning, LIBBPF_PIN_BY_NAME)`): the loader pins it at
// <pin directory>/pinned_counts, and a second load of this object (or of any object declaring a compatible
// map of the same name) reuses the pinned map instead of creating one, so counts are shared.
// pinned_maps_incompatible.bpf.c declares `pinned_counts` with a 4-byte value: loading it while this one is
// pinned must fail (incompatible pinned map) and leave the pin alone.
// Map: pinned_counts, BPF_MAP_TYPE_HASH, key __u32, value __u64, max_entries 16, key 0 = packets seen.
// Socket: any; framing does not matter. Test: load twice with the same pin directory, attach both
// programs, send packets, both see the same count; the pin file exists after the objects are gone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

SEC("socket")
int count_pinned(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *packets = bpf_map_lookup_elem(&pinned_counts, &key);
	if (packets) {
		__sync_fetch_and_add(packets, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&pinned_counts, &key, &one, BPF_NOEXIST);
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
