// other_section: programs in three section styles.
//   plain_socket   SEC("socket")  a socket filter (keeps every packet: returns skb->len)
//   pass_xdp       SEC("xdp")     an XDP program: the loader must refuse it as a socket filter
//                                 (UnexpectedProgramType), while programs() lists it
//   legacy_socket1 SEC("socket1") the kernel samples' / iproute2 style numbered section: sockfilter counts it
//                                 a socket filter (keeps every packet). libbpf 1.x does not know "socket1"
//                                 (its section name rules accept only "socket" exactly), so bpftool prog
//                                 loadall without "type socket" refuses this object (with it, every
//                                 program, pass_xdp too, loads as a socket filter).
// Socket: any; framing does not matter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int plain_socket(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("socket1")
int legacy_socket1(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
