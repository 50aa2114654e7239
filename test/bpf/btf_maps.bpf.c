// BTF-defined maps of several shapes and globals in .rodata, .data and .bss, for the BTF reader's tests
// (test/btf_test.cpp): every map and global is used by the one socket filter, so clang keeps them all.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/// The value type of `array_typed`: 12 bytes.
struct counters {
    __u32 packets;
    __u64 bytes;
} __attribute__((packed));

/// An array whose key and value are given as types (__type).
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct counters);
} array_typed SEC(".maps");

/// A hash whose key and value are given as sizes (__uint).
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, 8);
    __uint(value_size, 16);
    __uint(max_entries, 128);
} hash_sized SEC(".maps");

/// An LRU hash with per-CPU LRU lists.
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 64);
    __uint(map_flags, BPF_F_NO_COMMON_LRU);
    __type(key, __u64);
    __type(value, __u32);
} lru_flags SEC(".maps");

/// A ring buffer: no key or value.
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} ring SEC(".maps");

/// An array pinned by name.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned SEC(".maps");

/// A per-CPU array.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} percpu SEC(".maps");

const volatile __u32 rodata_port = 53;     // .rodata
const volatile __u8 rodata_mask[6] = {1};  // .rodata
__u64 data_count = 7;                      // .data
__u16 data_small = 3;                      // .data
__u32 bss_total;                           // .bss
__u64 bss_array[3];                        // .bss

/// A subprogram of its own in .text, so .BTF.ext has func_info and line_info for .text too.
static __attribute__((noinline)) __u32 add_len(struct __sk_buff* skb, __u32 total) {
    return total + skb->len + rodata_mask[skb->len % 6];
}

SEC("socket")
int btf_maps(struct __sk_buff* skb) {
    __u32 key = 0;
    struct counters* c = bpf_map_lookup_elem(&array_typed, &key);
    if (c) c->packets++;
    __u64 hkey = skb->len;
    bpf_map_lookup_elem(&hash_sized, &hkey);
    bpf_map_lookup_elem(&lru_flags, &hkey);
    bpf_map_lookup_elem(&pinned, &key);
    bpf_map_lookup_elem(&percpu, &key);
    bpf_ringbuf_output(&ring, &key, sizeof key, 0);
    data_count++;
    data_small++;
    bss_total = add_len(skb, bss_total);
    bss_array[skb->len % 3]++;
    return skb->len > rodata_port ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
