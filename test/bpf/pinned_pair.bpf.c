// pinned_pair: two hash maps pinned by name (`__uint(pinning, LIBBPF_PIN_BY_NAME)`), created and pinned in
// this order, so that a load pins pinned_first and then still has steps to go (creating and pinning
// pinned_second). The error-path tests (test/object_error_path_test.cpp) fail those later steps and check
// that the pin this load made is removed again, while a pin made by another load is left alone. (A .data
// global would not do: clang places .data before .maps, so its map is created first.)
// Maps: pinned_first and pinned_second, BPF_MAP_TYPE_HASH, key __u32, value __u64, max_entries 8.
// Socket: any; framing does not matter. Counts packets in pinned_first[0] and bytes in pinned_second[0];
// every packet is kept.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_first SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_second SEC(".maps");

static __always_inline void add(void *map, __u64 amount)
{
	__u32 key = 0;
	__u64 *total = bpf_map_lookup_elem(map, &key);
	if (total)
		__sync_fetch_and_add(total, amount);
	else
		bpf_map_update_elem(map, &key, &amount, BPF_NOEXIST);
}

SEC("socket")
int count_pair(struct __sk_buff *skb)
{
	add(&pinned_first, 1);
	add(&pinned_second, skb->len);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
