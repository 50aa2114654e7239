// port_filter: global data in all three sections. `accept_port` (.rodata, const volatile) is set with
// Object::set_global before load() and the verifier sees it as a constant; `accepted` and `dropped`
// (.bss, zero) count verdicts; `verdict_len` (.data) starts at 0xffff and is the keep length, so a loader
// that does not copy .data's initial bytes makes the filter drop everything.
//
// Socket: AF_INET SOCK_DGRAM (UDP). When a UDP socket's filter runs, skb data starts at the UDP header
// (measured on Linux 6.18: skb->len == 8 + payload, bytes 2-3 = destination port, network byte order).
// Test: set accept_port to port A (host byte order, __u16), load, attach to a UDP socket bound to A and
// send it datagrams: each arrives whole and `accepted` counts it. Attach the same program to a socket
// bound to another port B: nothing arrives and `dropped` counts each datagram. With the default
// accept_port 0 every datagram is dropped. A smaller verdict_len trims: 12 delivers 4 payload bytes (the
// UDP header's 8 count). Checked on Linux 6.18 with libbpf.
// Section "socket/port": libbpf 1.x does not guess a type for "socket/<name>" (only "socket" exactly), so
// bpftool needs "type socket" (bpftool prog loadall port_filter.bpf.o DIR type socket).
#include <linux/bpf.h>
#include <linux/udp.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 accept_port = 0; // host byte order
__u64 accepted = 0;
__u64 dropped = 0;
__u32 verdict_len = 0xffff; // more than any datagram: kept whole

SEC("socket/port")
int filter_port(struct __sk_buff *skb)
{
	__be16 dest;
	if (bpf_skb_load_bytes(skb, offsetof(struct udphdr, dest), &dest, sizeof(dest)) == 0 &&
	    bpf_ntohs(dest) == accept_port) {
		__sync_fetch_and_add(&accepted, 1);
		return verdict_len;
	}
	__sync_fetch_and_add(&dropped, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
