/* conf.h — the gateway configuration: defaults, `key value` files and command-line options. */
#ifndef S46_CONF_H
#define S46_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_MAX_LISTEN 16
#define CONF_ERRLEN 512
/* UDP associations without a datagram end after the relays' idle timeout unless set. */
#define CONF_UDP_IDLE_DEFAULT UINT_MAX

struct rules;
struct upstream_table;

struct conf {
	struct sockaddr_storage listen[CONF_MAX_LISTEN];
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
	/* UDP ASSOCIATE: 0 none, CONF_UDP_IDLE_DEFAULT as idle_timeout_s */
	unsigned udp_idle_timeout_s;
	unsigned drain_timeout_s;
	unsigned max_conns; /* 0: unlimited */
	uint32_t mark;	    /* SO_MARK for outbound sockets, 0: none */
	struct rules *rules; /* `rule` lines (gateway/rules.h); NULL: none, allow all */
	struct sockaddr_storage udp_public; /* UDP ASSOCIATE BND.ADDR for NAT; family 0: none */
	struct upstream_table *upstreams; /* `upstream` and `route` lines (gateway/upstream.h) */
	unsigned upstream_fail_limit;	  /* failures in a row that mark an upstream bad */
	unsigned upstream_bad_s;	  /* how long it stays bad */
	unsigned bind_timeout_s;	  /* BIND: wait this long for the incoming connection */
	unsigned processes;		  /* gateway processes sharing the listeners */
	const char *src_file; /* while conf_load_file runs: where a `rule` comes from */
	unsigned src_line;
};

void conf_defaults(struct conf *c);
void conf_free(struct conf *c);

/*
 * Sets key (a long option name without dashes, e.g. "he-delay") to value.
 * Returns 0, or -EINVAL / -ENOENT (unknown key) with a message in err.
 */
int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen);

/*
 * Applies a file of `key value` lines (# starts a comment). On failure returns
 * -errno with err set to "FILE:LINE: message" (or "FILE: message").
 */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);

/* Parses an unsigned number in [min, max] (decimal, or 0x hex). Returns 0 or -EINVAL. */
int conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Formats a configuration error message into err; returns -EINVAL for the caller to pass on. */
int conf_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
