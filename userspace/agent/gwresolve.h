/* gwresolve.h — asks the gateway whether a name exists (SOCKS5 RESOLVE), for NXDOMAIN answers. */
#ifndef S46_GWRESOLVE_H
#define S46_GWRESOLVE_H

#include "dnsd.h"
#include "redirect.h"

struct ev_loop;
struct gwresolve;

/* Asks cfg->servers (shared with the redirect: one health) with cfg->mark. Returns 0 or -errno. */
int gwresolve_new(struct gwresolve **out, struct ev_loop *loop, const struct redirect_config *cfg);
/* Cancels every lookup under way without calling back. NULL is fine. */
void gwresolve_free(struct gwresolve *g);

/* dnsd's existence check (dnsd_exists_fn / dnsd_exists_cancel_fn), arg = the gwresolve:
 * 1 when the gateway resolves the name, 0 when it answers "host unreachable" (no such
 * name), -errno when it cannot tell (no gateway answered, RESOLVE not supported). */
int gwresolve_exists(void *arg, const char *name, dnsd_exists_done_fn *done, void *ctx);
void gwresolve_cancel(void *arg, void *ctx);

#endif
