/* control.h — the agent's control socket: a one-line request per connection, then a reply. */
#ifndef S46_CONTROL_H
#define S46_CONTROL_H

/*
 * Socket: unix stream, default CONTROL_PATH_DEFAULT; the agent's --control PATH and the
 * environment variable SOCKS46_CONTROL (read by every client command, overridden by its
 * own --control PATH) select another one, so several agents can run side by side.
 *
 * Protocol: the client sends ONE line and reads until EOF; the agent closes after the reply.
 * The agent never waits for a client: it has 5 s to send its line and 10 s to read the
 * whole reply, else it is closed (and logged); a 33rd client closes the oldest one.
 * TEXT is one line for the operator. Attaching what is attached, or detaching what is not,
 * is "ok" (TEXT says so).
 *   "attach PATH\n"            → "ok TEXT\n" | "error TEXT\n"   (PATH: a cgroup2 directory;
 *                                 recorded in the opt-in file, followed when remade)
 *   "attach-unit NAME\n"       → the same for a systemd unit's cgroup
 *   "attach-transient PATH\n"  → the same, neither recorded nor followed (socks46 run)
 *   "detach PATH\n"            → "ok TEXT\n" | "error TEXT\n"
 *   "detach-unit NAME\n"       → the same for a unit
 *   "netns-add PID\n"         → "ok TEXT\n" once the network namespace of PID is served
 *                                 (or is the agent's own) | "none TEXT\n" (PID is in no
 *                                 attached cgroup, or the netns policy leaves it out) |
 *                                 "error TEXT\n" (serving failed)
 *   "status\n"       → one JSON object (below), then EOF
 *   anything else    → "error unknown command\n"
 *
 * Status JSON (keys always present; numbers are JSON numbers; strings escaped):
 * {
 *   "version": 1,
 *   "pid": 1234,                       agent pid
 *   "netns_cookie": 4096,              the agent's own network namespace
 *   "proxy_port": 10046,               loopback TCP port of the redirected connections
 *   "dns_port": 10053,                 loopback port of the DNS responder (UDP and TCP)
 *   "conn_entries": 0,                 published 4-tuples not yet claimed (map hygiene)
 *   "exempt_uids": [999],              users whose sockets are never redirected
 *   "gateways": [ {"addr": "198.51.100.1:1080", "up": true, "failures": 0} ],
 *   "handoff": {                       --handoff (null without it)
 *     "path": "/run/socks46/handoff.sock",  the gateway's Unix socket on this host
 *     "up": true,                      a channel is open and the last handoff worked
 *     "channels": 2                    channels open now (one per CPU at most, up to 8)
 *   },
 *   "cgroups":  [ {                    every opt-in, in the order made
 *     "path": "/sys/fs/cgroup/unified/x",  its cgroup now (a path opt-in: the path, also
 *                                      while it does not exist; a unit: null while none)
 *     "unit": "foo.service",           the unit opted in, null for a path
 *     "id": 1234,                      cgroup id, 0 while there is no cgroup
 *     "attached": true,                the programs are attached to it now
 *     "pinned": true,                  its links outlive the agent
 *     "origin": "config"               "config" (--cgroup, --unit), "runtime" (socks46
 *                                      attach; kept across restarts) or "run" (socks46 run)
 *   } ],
 *   "namespaces": [ {                  network namespaces served, the agent's own first
 *     "cookie": 4096, "inode": 4026531840,  its cookie (s46_netns key) and nsfs inode
 *     "own": true,                     the agent's own namespace
 *     "processes": 2,                  processes of the attached cgroups in it (last scan)
 *     "pids": [4321],                  the first 16 of them
 *     "cgroups": ["/sys/fs/cgroup/x/c1"],  the cgroups they are in (at most 4)
 *     "connections": 0                 redirected connections and UDP flows in it now
 *   } ],
 *   "counters": {
 *     "tcp_redirect": 0, "dns_connect": 0, "dns_sendmsg": 0, "dns_recvmsg": 0,
 *     "published": 0, "udp_denied": 0, "bpf_errors": 0,
 *     "udp_steered": 0, "udp_recvmsg": 0,                      (from the BPF programs)
 *     "udp_end": 0, "udp_end_lost": 0,    releases of forwarded sockets told, not told
 *     "accepted": 0, "forwarded": 0, "refused": 0, "no_gateway": 0,
 *     "no_origdst": 0, "no_name": 0,                           (from the redirect path)
 *     "handed_off": 0, "handoff_fallback": 0,   taken by the gateway on this host, or not
 *                                      (these went to the gateways, or were reset)
 *     "dns_queries": 0, "dns_faked": 0, "dns_forwarded": 0,
 *     "dns_formerr": 0, "dns_servfail": 0                      (from the DNS responder)
 *   },
 *   "fakeip": [ {"name": "web6.test", "addr": "198.18.0.1", "refs": 1, "last_used": 1700000000} ],
 *   "connections": [ {
 *     "client": "127.0.0.1:40312",     the program's socket as the agent accepted it
 *                                      (its local address and port; sock_diag finds it)
 *     "cookie": 12345,                 socket cookie of the program's socket (0 if unknown)
 *     "pid": 4321,                     tgid that called connect() (0 if unknown)
 *     "orig": "198.18.0.1:80",         the address and port the program connected to
 *     "target": "web6.test:80",        what the agent asked the gateway for
 *     "gateway": "198.51.100.1:1080",
 *     "state": "relay",                "handshake", "relay" or "fast" (the kernel's)
 *     "bytes_up": 0, "bytes_down": 0,  program → server, server → program
 *     "age_ms": 12
 *   } ],
 *   "udp": {                           the UDP forwarder (zeros when it has no port)
 *     "port": 10054, "flows": 0,       flows started
 *     "up": 0, "down": 0,              datagrams carried each way
 *     "dropped": 0,                    datagrams that could not be carried (all causes)
 *     "no_origdst": 0, "no_name": 0, "refused": 0,
 *     "full": 0,                       datagrams for a new flow beyond 4,096 flows
 *     "closed": 0                      flows ended because the program closed its socket
 *   },
 *   "udp_flows": [ {                   one per program socket and destination
 *     "client": "127.0.0.1:40312", "orig": "198.18.0.1:7", "target": "web6.test:7",
 *     "gateway": "198.51.100.1:1080", "state": "relay",   "associate" or "relay"
 *     "up": 0, "down": 0, "dropped": 0, "age_ms": 12
 *   } ]
 * }
 */

#define CONTROL_PATH_DEFAULT "/run/socks46/agent.sock"
#define CONTROL_ENV "SOCKS46_CONTROL"
#define CONTROL_LINE_MAX 4096

struct ev_loop;
struct agent;
struct control;

/* Whether path can be the agent's socket: 0, -EADDRINUSE when an agent answers there, or
 * -ENAMETOOLONG. control_new checks it again. */
int control_check(const char *path);
/* Listens on path (stale socket files are replaced) and serves requests on loop. */
int control_new(struct control **out, struct ev_loop *loop, const char *path, struct agent *a);
void control_free(struct control *c);

/* Client side, for the CLI: the socket path to use (opt wins over the environment). */
const char *control_path(const char *opt);
/* Sends line (without "\n"), reads the whole reply into a malloc'd NUL-terminated string.
 * Returns 0 or -errno (-ENOENT / -ECONNREFUSED: no agent listening). */
int control_request(const char *path, const char *line, char **reply);
/* The one wording of a failed control_request for every command: "no agent running
 * (nothing listens on PATH)" when no agent is there, else "PATH: reason". */
void control_strerror(const char *path, int err, char *buf, size_t len);

#endif
