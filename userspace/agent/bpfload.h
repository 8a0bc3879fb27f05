/* bpfload.h — loads the cgroup programs, attaches them with BPF links, reads their maps. */
#ifndef S46_BPFLOAD_H
#define S46_BPFLOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "s46_bpf.h"

#define BPFLOAD_PIN_DIR_DEFAULT "/sys/fs/bpf/socks46"

struct bpfload_config {
	uint64_t netns_cookie; /* the agent's own namespace, served from the start */
	uint32_t netns_inode;  /* its inode number (status) */
	uint32_t mark;
	uint32_t exempt_uids[S46_EXEMPT_MAX]; /* users whose sockets are left alone */
	unsigned nexempt;
	uint16_t proxy_port, dns_port; /* host order */
	uint16_t udp_port;	       /* host order; 0: UDP to fake addresses is refused */
	struct in_addr pool4;
	unsigned prefix4;
	struct in6_addr pool6;
	unsigned prefix6;
	bool no_dns;
	bool udp6; /* the IPv6 slot route and socket exist: steer IPv6 UDP too */
	/* Links are pinned under pin_dir/<netns cookie>-<cgroup id>/ so they outlive the
	 * agent (connects then fail with ECONNREFUSED); NULL = not pinned. */
	const char *pin_dir;
};

struct bpfload;

/* The cookie of the caller's network namespace. Returns 0 or -errno (-ENOPROTOOPT on
 * kernels before 5.14). */
int bpfload_netns_cookie(uint64_t *out);
/* Opens, configures and loads the programs. On a kernel lacking a feature, errmsg gets one
 * line naming it and the kernel version. Returns 0 or -errno. */
int bpfload_open(struct bpfload **out, const struct bpfload_config *cfg, char *errmsg,
		 size_t errlen);
/* Destroys the links that are not pinned and frees. NULL is fine. */
void bpfload_close(struct bpfload *b);

/* Attaches every program to the cgroup2 directory path. Returns 0, -EALREADY if this agent
 * has it attached, or -errno. */
int bpfload_attach(struct bpfload *b, const char *path);
/* Detaches and unpins (also links an earlier agent pinned for that cgroup). Returns 0,
 * -ENOENT if nothing was attached, or -errno. */
int bpfload_detach(struct bpfload *b, const char *path);
/* The same by cgroup id, also for a cgroup that was removed (its links are defunct). */
int bpfload_detach_id(struct bpfload *b, uint64_t id);
/* Whether this agent attached cgroup id with pinned links. */
bool bpfload_pinned(struct bpfload *b, uint64_t id);

/* Calls fn for each cgroup whose links an earlier agent of this namespace pinned and this
 * one has not attached (fn may attach it). */
typedef void bpfload_pin_cb(uint64_t cgid, void *arg);
void bpfload_foreign_pins(struct bpfload *b, bpfload_pin_cb *fn, void *arg);

/* Adds an address prefix that goes through the gateway (af AF_INET/AF_INET6). */
int bpfload_policy_add(struct bpfload *b, int af, const void *addr, unsigned prefix);

/* Serves network namespace cookie: the programs redirect its sockets from now on. 0 or -errno. */
int bpfload_netns_add(struct bpfload *b, uint64_t cookie, uint32_t inode);
/* Stops serving it and deletes its unclaimed s46_conn entries. 0, -ENOENT or -errno. */
int bpfload_netns_del(struct bpfload *b, uint64_t cookie);

/* Finds and removes the published original destination of a connection. 0 or -ENOENT. */
int bpfload_conn_take(struct bpfload *b, const struct s46_conn_key *k, struct s46_conn_val *v);
/* The original destination behind UDP slot n (from the loopback address a datagram was
 * steered to). 0, -ENOENT (an empty slot) or -errno. */
int bpfload_udp_dst(struct bpfload *b, uint32_t n, struct s46_dst *d);
/* The ring of released forwarded sockets (cgroup/sock_release): a descriptor that is readable
 * when events wait, or -1 when the kernel lacks the program. */
int bpfload_udp_end_fd(struct bpfload *b);
/* Calls fn for each event waiting. Returns how many, or -errno. */
typedef void bpfload_udp_end_cb(const struct s46_udp_end *e, void *arg);
int bpfload_udp_end_read(struct bpfload *b, bpfload_udp_end_cb *fn, void *arg);
/* One line on why releases are not told (the kernel lacks the program), or NULL. */
const char *bpfload_udp_end_missing(const struct bpfload *b);
/* Number of entries in s46_conn (for tests of map hygiene). */
long bpfload_conn_count(struct bpfload *b);

/* Counters summed over CPUs, indexed by enum s46_stat. */
int bpfload_stats(struct bpfload *b, uint64_t out[S46_STAT_MAX]);

/* The cgroup id (inode number of its cgroup2 directory). 0 or -errno. */
int bpfload_cgroup_id(const char *path, uint64_t *id);
/* Removes pins of cgroup id under pin_dir left by any agent (for detach without an agent).
 * Returns the number of pin directories removed, or -errno. */
int bpfload_unpin(const char *pin_dir, uint64_t cgid);
/* Removes pins whose cgroup no longer exists. Returns how many, or -errno. */
int bpfload_sweep(const char *pin_dir);

#endif
