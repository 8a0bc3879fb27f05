/* gwconf.h — the gateway's settings: defaults and the key table of its options and file. */
#ifndef S46_GWCONF_H
#define S46_GWCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"

#define GWCONF_MAX_LISTEN 16
/* UDP associations without a datagram end after the relays' idle timeout unless set. */
#define GWCONF_UDP_IDLE_DEFAULT UINT_MAX
#define GWCONF_PATH_DEFAULT "/etc/socks46/gateway.conf"

struct rules;
struct upstream_table;

struct gwconf {
	struct sockaddr_storage listen[GWCONF_MAX_LISTEN];
	unsigned nlisten;
	bool listen_is_default; /* the next `listen` replaces the list instead of adding */
	bool listen_freebind;	/* listen addresses may appear after start (IP_FREEBIND) */
	char *users_file;	/* NULL: method 0x00 only */
	char *resolv_conf;
	char *dns_server; /* "ADDR[:PORT],..." for c-ares */
	unsigned threads; /* 0: one per core */
	int log_level;	  /* enum log_level */
	unsigned he_delay_ms;
	int prefer; /* AF_INET6 or AF_INET */
	unsigned handshake_timeout_s;
	unsigned connect_timeout_s;
	unsigned idle_timeout_s; /* 0: none */
	/* UDP ASSOCIATE: 0 none, GWCONF_UDP_IDLE_DEFAULT as idle_timeout_s */
	unsigned udp_idle_timeout_s;
	unsigned drain_timeout_s;
	unsigned max_conns;  /* 0: unlimited */
	uint32_t mark;	     /* SO_MARK for outbound sockets, 0: none */
	struct rules *rules; /* `rule` lines (gateway/rules.h); NULL: none, allow all */
	struct sockaddr_storage udp_public; /* UDP ASSOCIATE BND.ADDR for NAT; family 0: none */
	struct upstream_table *upstreams;   /* `upstream` and `route` lines (gateway/upstream.h) */
	unsigned upstream_fail_limit;	    /* failures in a row that mark an upstream bad */
	unsigned upstream_bad_s;	    /* how long it stays bad */
	unsigned bind_timeout_s;	    /* BIND: wait this long for the incoming connection */
	unsigned processes;		    /* gateway processes sharing the listeners */
	char *handoff; /* Unix socket agents on this host hand connections over (handoff.c) */
};

/* The gateway's keys: each is a long option and a configuration file key. */
extern const struct conf_key gwconf_keys[];

void gwconf_defaults(struct gwconf *c);
void gwconf_free(struct gwconf *c);

/* Sets one key (e.g. "he-delay") from the command line. 0, or -EINVAL / -ENOENT with err. */
int gwconf_set(struct gwconf *c, const char *key, const char *value, char *err, size_t errlen);
/* Applies a configuration file; err gets "FILE:LINE: message". */
int gwconf_load_file(struct gwconf *c, const char *path, char *err, size_t errlen);

#endif
