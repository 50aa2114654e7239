// verifier_reject: compiles, but the verifier rejects it: the program dereferences a map lookup result
// without a NULL check. The kernel's error is "R0 invalid mem access 'map_value_or_null'" and, when the
// object's BTF line info is loaded, the log names the source line: look for the text
// "return *value_without_null_check;" in the verifier log. Without BTF the log has no source text.
// The map is a hash map: since Linux 6.x the verifier knows that an array lookup with a constant in-range
// key cannot return NULL and accepts the same code on an array map (measured on 6.18).
// Test: Object::load() succeeds (the map is created); socket_filter("deref_unchecked").load() fails with
// the verifier log containing that line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} reject_values SEC(".maps");

SEC("socket")
int deref_unchecked(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u32 *value_without_null_check = bpf_map_lookup_elem(&reject_values, &key);
	return *value_without_null_check;
}

char LICENSE[] SEC("license") = "GPL";
