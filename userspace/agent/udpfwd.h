/* udpfwd.h — carries the steered UDP of attached cgroups through the gateway (UDP ASSOCIATE). */
#ifndef S46_UDPFWD_H
#define S46_UDPFWD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A flow nothing went through for this long ends (its association with it). */
#define UDPFWD_IDLE_MS 60000
/* Flows at once (each holds two descriptors); datagrams for more are dropped. */
#define UDPFWD_FLOWS_MAX 4096
/* Datagrams kept per flow while its association is set up, and bytes kept for all flows; more
 * are dropped. */
#define UDPFWD_QUEUE_MAX 128
#define UDPFWD_QUEUE_BYTES (4u << 20)

struct ev_loop;
struct bpfload;
struct fakeip;
struct fakeip_config;
struct redirect_config;

struct udpfwd_stats {
	unsigned long long flows;      /* flows started */
	unsigned long long up, down;   /* datagrams carried each way */
	unsigned long long dropped;    /* datagrams that could not be carried */
	unsigned long long no_origdst; /* datagrams whose slot held no destination */
	unsigned long long no_name;    /* destinations no name is behind */
	unsigned long long refused;    /* associations the gateways refused or none answered */
	unsigned long long full;       /* datagrams for a new flow beyond UDPFWD_FLOWS_MAX */
	unsigned long long closed;     /* flows ended because the program's socket closed */
};

/* One flow, for `status`. */
struct udpfwd_info {
	const struct sockaddr *client; /* the program's socket */
	const struct sockaddr *orig;   /* where it sent */
	const char *target;	       /* what the gateway is asked for */
	const char *gateway;
	const char *state;
	uint64_t up, down, dropped, age_ms;
};

struct udpfwd;

/* Listens on the wildcard IPv4 address at port (taking only datagrams to the slot network,
 * S46_UDP_NET/16). cfg (gateways, mark, timeouts, target), b, table and fcfg stay the caller's
 * and must outlive u. Returns 0 or -errno. */
int udpfwd_new(struct udpfwd **out, struct ev_loop *loop, uint16_t port,
	       const struct redirect_config *cfg, struct bpfload *b, struct fakeip *table,
	       const struct fakeip_config *fcfg);
void udpfwd_free(struct udpfwd *u);
void udpfwd_set_bpf(struct udpfwd *u, struct bpfload *b);
uint16_t udpfwd_port(const struct udpfwd *u);
/* Whether IPv6 sockets' UDP can be carried (the slot route and socket exist). */
bool udpfwd_has_v6(const struct udpfwd *u);
void udpfwd_get_stats(const struct udpfwd *u, struct udpfwd_stats *out);

/* The program socket with this cookie was released: its flows end now, counted in closed (a
 * flow still being set up sends what waits first). */
void udpfwd_sock_released(struct udpfwd *u, uint64_t cookie);

typedef void udpfwd_flow_cb(const struct udpfwd_info *fi, void *arg);
void udpfwd_walk(struct udpfwd *u, udpfwd_flow_cb *fn, void *arg);

#endif
