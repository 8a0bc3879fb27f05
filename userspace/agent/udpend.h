/* udpend.h — ends a program socket's UDP flows when the socket is released (cgroup/sock_release).
 */
#ifndef S46_UDPEND_H
#define S46_UDPEND_H

struct agent;
struct udpend;

/* Reads the programs' ring of released sockets from the agent's loop and hands each release
 * to the forwarder of the socket's network namespace. On a kernel without the program it says
 * so in one line and does nothing (flows then end at their idle timeout). 0 or -errno. */
int udpend_new(struct udpend **out, struct agent *a);
void udpend_free(struct udpend *e);

#endif
