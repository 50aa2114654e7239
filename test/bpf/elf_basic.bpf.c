// The ELF reader's real object: a socket program calling a global function in .text, a BTF-defined hash
// map in .maps, a global in .rodata and a license section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} lengths SEC(".maps");

const volatile __u32 snap_length = 1500;

__attribute__((noinline)) int clamp(__u32 length) {
    return length > snap_length ? (int)snap_length : (int)length;
}

SEC("socket") int keep(struct __sk_buff *skb) {
    __u32 key = 0;
    __u64 *seen = bpf_map_lookup_elem(&lengths, &key);
    if (seen) *seen = skb->len;
    return clamp(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
