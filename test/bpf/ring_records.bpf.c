// ring_records: a BPF_MAP_TYPE_RINGBUF map (64 KiB) receiving one 16-byte record per datagram through
// bpf_ringbuf_output, numbered by a .bss counter.
//
// Socket: AF_INET SOCK_DGRAM (UDP): skb data starts at the UDP header (8 bytes) when the filter runs, so the
// payload starts at offset 8 and skb->len == 8 + payload length.
// Record: {__u32 len = skb->len (8 + payload); __u32 seq = the first 4 payload bytes, copied as is (a
// sender that memcpy's a host-order __u32 reads the same value back), 0 when the payload is shorter;
// __u64 counter = 1, 2, 3, ... in arrival order}.
// Test: attach to a bound UDP socket, send datagrams whose payload starts with 1, 2, 3 ..., then consume the
// ring buffer (mmap the map fd, or epoll on it) and check len, seq and counter of each record. Every
// datagram is kept. The counter is not atomic across CPUs (socket filters run in softirq on any CPU): a
// test sends one datagram at a time.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct record {
	__u32 len;
	__u32 seq;
	__u64 counter;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} records SEC(".maps");

__u64 records_sent = 0;

#define UDP_HEADER_LEN 8

SEC("socket")
int emit_record(struct __sk_buff *skb)
{
	struct record rec = {.len = skb->len};
	if (bpf_skb_load_bytes(skb, UDP_HEADER_LEN, &rec.seq, sizeof(rec.seq)) != 0)
		rec.seq = 0;
	rec.counter = ++records_sent;
	bpf_ringbuf_output(&records, &rec, sizeof(rec), 0);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
