/* s46_bpf.h — the ABI between the cgroup BPF programs and the agent: config, map keys and values.
 */
#ifndef S46_BPF_H
#define S46_BPF_H

#include <linux/types.h>

/* The SO_MARK the agent (and a co-located gateway, with the same mark) sets on its own
 * sockets: the programs never redirect a socket carrying it, so the agent cannot loop into
 * itself and its upstream DNS queries reach the real resolver. */
#define S46_MARK_DEFAULT 0x5346

/* Users whose sockets are never redirected either (--exempt-user; by default the gateway's
 * system user _socks46): a co-located gateway then needs neither SO_MARK nor CAP_NET_RAW.
 * The uid is the calling task's (initial user namespace) at connect() or sendmsg(). */
#define S46_EXEMPT_MAX 8

/* Default loopback ports of the agent: TCP proxy, DNS (UDP and TCP). Fixed rather than
 * ephemeral so that links pinned by an agent that has exited point at a closed port and
 * connects fail with ECONNREFUSED at once. */
#define S46_PROXY_PORT_DEFAULT 10046
#define S46_DNS_PORT_DEFAULT 10053
/* The agent's UDP forwarder (bound to the wildcard address, it only takes datagrams to
 * S46_UDP_NET/16). */
#define S46_UDP_PORT_DEFAULT 10054

/* UDP to a fake (or policy) destination is steered to 127.70.H.L:udp_port, where H.L is a
 * slot of s46_udp_dst holding the original destination: the loopback address tells the agent
 * each datagram's destination, however many one socket sends to, and the reply, sent from
 * that address, is rewritten back by recvmsg4/6. Host order. */
#define S46_UDP_NET 0x7f460000
#define S46_UDP_SLOTS 65536
/* IPv6 sockets have only ::1 on loopback: their slot addresses are S46_UDP_NET6::H:L, a
 * ULA /112 the agent routes locally on lo (host-order words; the slot is the low 16 bits). */
#define S46_UDP_NET6_0 0xfd465346
#define S46_UDP_NET6_1 0x55640000
#define S46_UDP_NET6_2 0
#define S46_UDP_NET6_3 0
#define S46_UDP_NET6_LEN 112

/* Entries of s46_conn: each is deleted by the agent when it accepts the connection, or by
 * sock_ops when the client socket closes, so only connections not yet accepted are there;
 * the bound (about 2 MB of preallocated LRU entries) only matters if both are missed. */
#define S46_CONN_MAX 16384
#define S46_POLICY_MAX 1024
/* Network namespaces the agent serves at once (its own included): the keys of s46_netns. */
#define S46_NETNS_MAX 1024

/* Per-socket original destination kinds (struct s46_dst.kind). */
#define S46_KIND_NONE 0
#define S46_KIND_PROXY 1 /* TCP to a fake or policy address: the agent's proxy port */
#define S46_KIND_DNS 2	 /* port 53 (TCP or connected UDP): the agent's DNS responder */
#define S46_KIND_UDP 3	 /* UDP to a fake or policy address: the agent's UDP forwarder */

/* Indices of the per-CPU counter array s46_stats. */
enum s46_stat {
	S46_STAT_TCP_REDIRECT = 0, /* connects redirected to the proxy port */
	S46_STAT_DNS_CONNECT,	   /* port-53 connects (TCP, connected UDP) steered */
	S46_STAT_DNS_SENDMSG,	   /* unconnected UDP datagrams to port 53 steered */
	S46_STAT_DNS_RECVMSG,	   /* replies whose source was rewritten back */
	S46_STAT_PUBLISHED,	   /* 4-tuples published by sock_ops */
	S46_STAT_UDP_DENIED,	   /* non-DNS UDP to a fake address refused (EPERM) */
	S46_STAT_ERRORS,	   /* storage or map updates that failed */
	S46_STAT_UDP_STEERED,	   /* UDP sends and connects steered to the forwarder */
	S46_STAT_UDP_RECVMSG,	   /* forwarded replies whose source was rewritten back */
	S46_STAT_UDP_END,	   /* releases of forwarded sockets told to the agent */
	S46_STAT_UDP_END_LOST,	   /* releases not told: the ring was full */
	S46_STAT_MAX,
};

/* Where a socket really wanted to go. Addresses are always 16 bytes: IPv4 as
 * v4-mapped IPv6 (::ffff:a.b.c.d), so one code path serves both families. */
struct s46_dst {
	__u8 addr[16]; /* original destination address, network order */
	__be16 port;   /* original destination port, network order */
	__u8 kind;     /* S46_KIND_* */
	__u8 family;   /* AF_INET or AF_INET6: the family of the socket's connect() */
	__u32 pad;     /* explicit padding, zero */
};

/* Value of the per-socket storage map s46_sk (freed by the kernel with the socket). */
struct s46_sk_val {
	struct s46_dst conn; /* set by connect4/6 when redirected, cleared on a plain connect */
	struct s46_dst dns;  /* last port-53 server an unconnected sendmsg asked */
	__u64 netns_cookie;  /* of the socket's namespace, for the s46_conn key */
	__u64 cookie;	     /* socket cookie, for status */
	__u32 pid;	     /* tgid that called connect() */
	__u32 flags;	     /* S46_SK_* */
};

/* s46_sk_val.flags */
#define S46_SK_UDP 0x1 /* its datagrams went to the UDP forwarder: its release is told */

/* An event of the ring buffer s46_udp_end: a socket whose datagrams went to the forwarder was
 * released (closed), so the forwarder ends its flows at once (cgroup/sock_release, which can
 * read no address or port of the socket: the agent learns each flow's cookie from sock_diag). */
struct s46_udp_end {
	__u64 netns_cookie; /* of the socket's namespace: whose forwarder has its flows */
	__u64 cookie;	    /* socket cookie */
};

/* Bytes of the s46_udp_end ring (a power of two, whole pages): 4,096 events unread (each with
 * its 8-byte ring header). */
#define S46_UDP_END_RING (128 * 1024)

/* Key of s46_udp_slot: a destination that has (or had) a slot. */
struct s46_udp_key {
	__u8 addr[16]; /* IPv4 as v4-mapped IPv6 */
	__be16 port;
	__u16 pad;
};

/* Key of s46_conn: the client end of a redirected TCP connection, which is the peer
 * address the agent sees on the socket it accepts. */
struct s46_conn_key {
	__u64 netns_cookie; /* network namespace of the client socket */
	__u8 addr[16];	    /* client (source) address, IPv4 as v4-mapped IPv6 */
	__be16 port;	    /* client (source) port, network order */
	__u16 pad1;	    /* explicit padding, zero */
	__u32 pad2;	    /* explicit padding, zero */
};

/* Value of s46_conn. */
struct s46_conn_val {
	struct s46_dst dst; /* the original destination of that connection */
	__u64 cookie;	    /* socket cookie of the client socket (for status / sock_diag) */
	__u32 pid;	    /* tgid that called connect(), 0 if not known */
	__u32 pad;	    /* explicit padding, zero */
};

/* Key of the LPM trie s46_policy: real destinations that go through the gateway
 * (--via-gateway CIDR). IPv4 prefixes are stored v4-mapped (prefixlen 96 + n). */
struct s46_policy_key {
	__u32 prefixlen; /* LPM prefix length in bits, 0..128 */
	__u8 addr[16];	 /* network address, IPv4 as v4-mapped IPv6 */
};

/* Value of s46_netns, keyed by the cookie (__u64) of a network namespace the agent serves:
 * only sockets of those namespaces are redirected, each to the agent's listeners inside its
 * own namespace; a socket of any other namespace is left alone (fail open). */
struct s46_netns_val {
	__u32 inode; /* inode number of the namespace (nsfs), for status */
	__u32 pad;   /* explicit padding, zero */
};

/* Read-only configuration, set through the skeleton's rodata before load. */
struct s46_cfg {
	__u64 pad2;	   /* explicit padding, zero */
	__u32 mark;	   /* sockets with this SO_MARK are never redirected; 0 = none */
	__be16 proxy_port; /* agent TCP proxy port, network order */
	__be16 dns_port;   /* agent DNS responder port (UDP and TCP), network order */
	__be16 udp_port;   /* agent UDP forwarder port, network order; 0 = UDP not carried */
	__u16 pad0;	   /* explicit padding, zero */
	__be32 pool4;	   /* fake IPv4 pool network address, network order */
	__be32 mask4;	   /* its netmask, network order */
	__u8 pool6[16];	   /* fake IPv6 pool network address */
	__u8 mask6[16];	   /* its netmask */
	__u32 flags;	   /* S46_CFG_* */
	__u32 pad;	   /* explicit padding, zero */
	__u32 exempt_uids[S46_EXEMPT_MAX]; /* sockets of these users are never redirected */
	__u32 nexempt;			   /* how many of exempt_uids are set, 0..S46_EXEMPT_MAX */
	__u32 pad1;			   /* explicit padding, zero */
};

#define S46_CFG_NO_DNS 0x1 /* do not steer port-53 traffic (no responder) */
#define S46_CFG_UDP6 0x2   /* the IPv6 slot addresses are routed to the forwarder */

#endif
