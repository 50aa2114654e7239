// count_udp.bpf.c: counts datagrams per destination port, keeps only those to `port`.
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u16 port = 0;  // set from C++ before load(): the verifier sees a constant

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u16);
    __type(value, __u64);
} seen SEC(".maps");

SEC("socket")
int keep_port(struct __sk_buff *skb)
{
    __be16 dest;
    if (bpf_skb_load_bytes(skb, 2, &dest, sizeof dest) != 0)  // a UDP socket sees the UDP header first
        return 0;
    __u16 key = bpf_ntohs(dest);
    __u64 one = 1, *count = bpf_map_lookup_elem(&seen, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST);
    return key == port ? skb->len : 0;
}

char LICENSE[] SEC("license") = "GPL";
