/* optin.c — opt-ins by path or unit: attached, followed through inotify, run-time ones kept. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfload.h"
#include "cgpath.h"
#include "ev.h"
#include "log.h"
#include "optin.h"
#include "optinfile.h"

/* Marks of optin_configure. */
#define OPTIN_KEEP 1
#define OPTIN_ADDED 2

/* Slices nest a few levels (a.slice/a-b.slice/...); the bound only guards a strange tree. */
#define OPTIN_SLICE_DEPTH CGPATH_SLICE_DEPTH

struct optin_entry {
	char name[PATH_MAX]; /* the unit name, or the absolute cgroup path */
	bool unit;
	enum optin_origin origin;
	char cgroup[PATH_MAX]; /* its cgroup now; "" while there is none */
	uint64_t id;	       /* that cgroup's id; 0 while there is none */
	int mark;	       /* optin_configure: OPTIN_KEEP, OPTIN_ADDED or 0 */
	struct optin_entry *next;
};

/* A directory watched for cgroups being made and removed. */
struct optin_watch {
	int wd;
	bool slices; /* part of the slice tree searched for units */
	char dir[PATH_MAX];
	struct optin_watch *next;
};

struct optin {
	struct ev_loop *loop;
	struct bpfload *bpf;
	char *state;
	int ifd;
	bool slices;	/* the slice tree is watched (a unit was opted in) */
	bool restoring; /* reading the opt-in file: do not write it meanwhile */
	struct optin_entry *entries;
	struct optin_watch *watches;
};

const char *optin_origin_name(enum optin_origin origin)
{
	switch (origin) {
	case OPTIN_CONFIG:
		return "config";
	case OPTIN_RUNTIME:
		return "runtime";
	default:
		return "run";
	}
}

static bool optin_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && !strcmp(name + n - s, suffix);
}

static bool optin_is_slice(const char *name)
{
	return optin_suffix(name, ".slice");
}

static int optin_watch_add(struct optin *o, const char *dir, bool slices)
{
	int wd = inotify_add_watch(o->ifd, dir, IN_CREATE | IN_DELETE | IN_ONLYDIR);
	struct optin_watch *w;

	if (wd < 0)
		return -errno;
	for (w = o->watches; w; w = w->next) {
		if (w->wd == wd) {
			w->slices |= slices;
			return 0;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->wd = wd;
	w->slices = slices;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->next = o->watches;
	o->watches = w;
	return 0;
}

/* Watches the parent of a path opt-in, or while that is missing the nearest ancestor that
 * exists: a cgroup is made only after its parent, whose making is seen there. */
static int optin_watch_path(struct optin *o, const char *name)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", name);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (!stat(dir, &st))
			return optin_watch_add(o, dir, false);
	}
	return -ENOENT;
}

/* Watches dir and every slice below it: units appear as children of slices. */
static void optin_watch_slices(struct optin *o, const char *dir, int depth)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = optin_watch_add(o, dir, true);

	if (err) {
		log_warnx("watching %s: %s", dir, strerror(-err));
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !optin_is_slice(de->d_name) ||
		    depth >= OPTIN_SLICE_DEPTH)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
			optin_watch_slices(o, p, depth + 1);
	}
	closedir(d);
}

static struct optin_entry *optin_holder(struct optin *o, uint64_t id, struct optin_entry *except)
{
	for (struct optin_entry *e = o->entries; e; e = e->next)
		if (e != except && e->id == id)
			return e;
	return NULL;
}

/* Attaches e to the cgroup at path. Two opt-ins may name one cgroup (a path and a unit):
 * they share its links. */
static int optin_bind(struct optin *o, struct optin_entry *e, const char *path)
{
	uint64_t id;
	int rc = bpfload_cgroup_id(path, &id);

	if (rc)
		return rc;
	rc = bpfload_attach(o->bpf, path);
	if (rc && rc != -EALREADY)
		return rc;
	snprintf(e->cgroup, sizeof(e->cgroup), "%s", path);
	e->id = id;
	if (e->unit)
		log_info("attached %s (unit %s, cgroup id %llu)", path, e->name,
			 (unsigned long long)id);
	else
		log_info("attached %s (cgroup id %llu)", path, (unsigned long long)id);
	return 0;
}

static void optin_bind_log(struct optin *o, struct optin_entry *e, const char *path)
{
	int rc = optin_bind(o, e, path);

	if (rc)
		log_warnx("attaching %s: %s", path, strerror(-rc));
}

/* Lets go of e's cgroup; its links go unless another opt-in names the same cgroup. */
static void optin_unbind(struct optin *o, struct optin_entry *e)
{
	if (e->id && !optin_holder(o, e->id, e))
		bpfload_detach_id(o->bpf, e->id);
	e->cgroup[0] = '\0';
	e->id = 0;
}

static void optin_save(struct optin *o)
{
	struct optinfile_item *items;
	size_t n = 0;
	int err;

	if (!o->state || o->restoring)
		return;
	for (struct optin_entry *e = o->entries; e; e = e->next)
		n++;
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		log_warnx("%s: out of memory", o->state);
		return;
	}
	n = 0;
	for (struct optin_entry *e = o->entries; e; e = e->next) {
		if (e->origin == OPTIN_CONFIG)
			continue;
		items[n].kind = e->origin == OPTIN_TRANSIENT ? OPTINFILE_RUN
				: e->unit		     ? OPTINFILE_UNIT
							     : OPTINFILE_CGROUP;
		items[n++].name = e->name;
	}
	err = optinfile_write(o->state, items, n);
	if (err)
		log_warnx("saving the opt-ins to %s: %s", o->state, strerror(-err));
	free(items);
}

static void optin_entry_drop(struct optin *o, struct optin_entry *e)
{
	struct optin_entry **pp;

	for (pp = &o->entries; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	optin_unbind(o, e);
	free(e);
}

/* Attaches what appeared, lets go of what vanished (after a lost inotify event, or when a
 * slice was made and units may have been made in it before its watch existed). */
static void optin_rescan(struct optin *o)
{
	char root[PATH_MAX], p[PATH_MAX];
	uint64_t id;

	for (struct optin_entry *e = o->entries; e; e = e->next) {
		if (e->id && (bpfload_cgroup_id(e->cgroup, &id) || id != e->id)) {
			log_info("%s: cgroup %s removed", e->name, e->cgroup);
			optin_unbind(o, e);
		}
		if (e->id)
			continue;
		if (!e->unit && !bpfload_cgroup_id(e->name, &id))
			optin_bind_log(o, e, e->name);
		else if (e->unit && !cgpath_root(root, sizeof(root)) &&
			 cgpath_unit_find(root, e->name, p, sizeof(p)))
			optin_bind_log(o, e, p);
	}
}

static void optin_created(struct optin *o, struct optin_watch *w, const char *path,
			  const char *base)
{
	if (w->slices && optin_is_slice(base)) {
		optin_watch_slices(o, path, 1);
		optin_rescan(o);
	}
	size_t n = strlen(path);
	uint64_t id;

	for (struct optin_entry *e = o->entries; e; e = e->next) {
		if (e->id)
			continue;
		if (e->unit ? w->slices && !strcmp(e->name, base) : !strcmp(e->name, path)) {
			optin_bind_log(o, e, path);
		} else if (!e->unit && !strncmp(e->name, path, n) && e->name[n] == '/') {
			/* An ancestor came back: watch closer, and look, as it may be there. */
			optin_watch_path(o, e->name);
			if (!bpfload_cgroup_id(e->name, &id))
				optin_bind_log(o, e, e->name);
		}
	}
}

static void optin_deleted(struct optin *o, const char *path)
{
	struct optin_entry *e, *next;

	for (e = o->entries; e; e = next) {
		next = e->next;
		if (!e->id || strcmp(e->cgroup, path))
			continue;
		if (e->origin == OPTIN_TRANSIENT) {
			log_info("%s: cgroup removed", path);
			optin_entry_drop(o, e);
			optin_save(o);
			continue;
		}
		log_info("%s: cgroup %s removed; attached again when it is made", e->name, path);
		optin_unbind(o, e);
	}
}

static void optin_event(struct optin *o, const struct inotify_event *ev)
{
	struct optin_watch **pp, *w;
	char path[PATH_MAX];

	if (ev->mask & IN_Q_OVERFLOW) {
		optin_rescan(o);
		return;
	}
	for (pp = &o->watches; *pp && (*pp)->wd != ev->wd; pp = &(*pp)->next)
		;
	w = *pp;
	if (!w)
		return;
	if (ev->mask & IN_IGNORED) {
		/* The directory went: path opt-ins below it watch an ancestor instead. */
		*pp = w->next;
		free(w);
		for (struct optin_entry *e = o->entries; e; e = e->next)
			if (!e->unit && !e->id)
				optin_watch_path(o, e->name);
		return;
	}
	if (!(ev->mask & IN_ISDIR) || !ev->len ||
	    snprintf(path, sizeof(path), "%s/%s", w->dir, ev->name) >= (int)sizeof(path))
		return;
	if (ev->mask & IN_CREATE)
		optin_created(o, w, path, ev->name);
	else if (ev->mask & IN_DELETE)
		optin_deleted(o, path);
}

static void optin_inotify_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			optin_event(arg, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

int optin_new(struct optin **out, struct ev_loop *loop, struct bpfload *bpf, const char *state)
{
	struct optin *o = calloc(1, sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	o->loop = loop;
	o->bpf = bpf;
	o->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (o->ifd < 0) {
		err = -errno;
		goto fail;
	}
	if (state && !(o->state = strdup(state))) {
		err = -ENOMEM;
		goto fail;
	}
	err = ev_io_add(loop, o->ifd, EV_READ, optin_inotify_cb, o);
	if (err)
		goto fail;
	*out = o;
	return 0;
fail:
	if (o->ifd >= 0)
		close(o->ifd);
	free(o->state);
	free(o);
	return err;
}

void optin_free(struct optin *o)
{
	if (!o)
		return;
	ev_io_del(o->loop, o->ifd);
	close(o->ifd);
	while (o->entries) {
		struct optin_entry *e = o->entries;

		o->entries = e->next;
		free(e);
	}
	while (o->watches) {
		struct optin_watch *w = o->watches;

		o->watches = w->next;
		free(w);
	}
	free(o->state);
	free(o);
}

static int optin_norm(const char *name, bool unit, char *out, size_t len, char *msg, size_t mlen)
{
	int rc = unit ? cgpath_unit_name(name, out, len) : cgpath_resolve_leaf(name, out, len);

	if (rc == -EINVAL && unit)
		snprintf(msg, mlen, "%s: not a unit name (NAME.service, .scope or .slice)", name);
	else if (rc == -ENOTDIR)
		snprintf(msg, mlen, "%s: not a cgroup2 directory", name);
	else if (rc == -ENOENT)
		snprintf(msg, mlen, "%s: no such cgroup, nor a cgroup2 directory to make it in",
			 name);
	else if (rc)
		snprintf(msg, mlen, "%s: %s", name, strerror(-rc));
	return rc;
}

static struct optin_entry *optin_find(struct optin *o, const char *name, bool unit)
{
	for (struct optin_entry *e = o->entries; e; e = e->next)
		if (e->unit == unit && !strcmp(e->name, name))
			return e;
	return NULL;
}

/* Watches the parent directory first, so that a cgroup made meanwhile is not missed. */
static int optin_start_path(struct optin *o, struct optin_entry *e)
{
	uint64_t id;
	int rc;

	rc = optin_watch_path(o, e->name);
	if (rc)
		return rc;
	rc = bpfload_cgroup_id(e->name, &id);
	if (rc == -ENOENT && e->origin != OPTIN_TRANSIENT)
		return 0;
	return rc ? rc : optin_bind(o, e, e->name);
}

static int optin_start_unit(struct optin *o, struct optin_entry *e)
{
	char root[PATH_MAX], p[PATH_MAX];
	int rc = cgpath_root(root, sizeof(root));

	if (rc)
		return rc;
	if (!o->slices) {
		optin_watch_slices(o, root, 0);
		o->slices = true;
	}
	if (!cgpath_unit_find(root, e->name, p, sizeof(p)))
		return 0;
	return optin_bind(o, e, p);
}

int optin_add(struct optin *o, const char *name, bool unit, enum optin_origin origin, char *msg,
	      size_t len)
{
	char norm[PATH_MAX];
	struct optin_entry *e, **pp;
	int rc = optin_norm(name, unit, norm, sizeof(norm), msg, len);

	if (rc)
		return rc;
	e = optin_find(o, norm, unit);
	if (e) {
		/* `attach` of a path a command runs in keeps it past that command. */
		if (origin == OPTIN_RUNTIME && e->origin == OPTIN_TRANSIENT) {
			e->origin = origin;
			optin_save(o);
		}
		snprintf(msg, len, "%s: already attached%s", norm,
			 e->id ? "" : " (waiting for its cgroup)");
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	snprintf(e->name, sizeof(e->name), "%s", norm);
	e->unit = unit;
	e->origin = origin;
	rc = unit ? optin_start_unit(o, e) : optin_start_path(o, e);
	if (rc) {
		if (rc == -ENOENT && unit)
			snprintf(msg, len, "%s: no cgroup2 mount is visible here", norm);
		else
			snprintf(msg, len, "%s: %s", norm, strerror(-rc));
		free(e);
		return rc;
	}
	/* Kept in the order they came: status and the opt-in file list them so. */
	for (pp = &o->entries; *pp; pp = &(*pp)->next)
		;
	*pp = e;
	if (origin != OPTIN_CONFIG)
		optin_save(o);
	if (e->id && unit)
		snprintf(msg, len, "%s: attached (cgroup %s)", norm, e->cgroup);
	else if (e->id)
		snprintf(msg, len, "%s: attached", norm);
	else if (unit)
		snprintf(msg, len, "%s: not running; attached when it starts", norm);
	else
		snprintf(msg, len, "%s: does not exist yet; attached when it is made", norm);
	/* An attach was logged as it happened. */
	if (!e->id)
		log_info("%s", msg);
	return 0;
}

int optin_remove(struct optin *o, const char *name, bool unit, char *msg, size_t len)
{
	char norm[PATH_MAX];
	struct optin_entry *e;
	bool recorded;
	uint64_t id;
	int rc = optin_norm(name, unit, norm, sizeof(norm), msg, len);

	if (rc)
		return rc;
	e = optin_find(o, norm, unit);
	if (!e && !unit && !bpfload_cgroup_id(norm, &id) && (e = optin_holder(o, id, NULL))) {
		snprintf(msg, len, "%s: attached as unit %s (detach --unit %s)", norm, e->name,
			 e->name);
		return -EBUSY;
	}
	if (!e) {
		/* Links an earlier agent pinned for the cgroup go as well. */
		if (!unit && !bpfload_detach(o->bpf, norm))
			snprintf(msg, len, "%s: detached (links an earlier agent pinned)", norm);
		else
			snprintf(msg, len, "%s: not attached", norm);
		return 0;
	}
	recorded = e->origin != OPTIN_CONFIG;
	optin_entry_drop(o, e);
	if (recorded)
		optin_save(o);
	snprintf(msg, len, "%s: detached", norm);
	return 0;
}

/* Opts in one configured name; an entry already there stays (a run-time one stays the
 * operator's). Marks what the configuration holds. 0 or -errno with msg set. */
static int optin_configure_one(struct optin *o, const char *name, bool unit, char *msg, size_t len)
{
	char norm[PATH_MAX];
	struct optin_entry *e;
	int rc = optin_norm(name, unit, norm, sizeof(norm), msg, len);

	if (rc)
		return rc;
	e = optin_find(o, norm, unit);
	if (e) {
		if (e->origin == OPTIN_CONFIG)
			e->mark = OPTIN_KEEP;
		return 0;
	}
	rc = optin_add(o, norm, unit, OPTIN_CONFIG, msg, len);
	if (rc)
		return rc;
	e = optin_find(o, norm, unit);
	if (e)
		e->mark = OPTIN_ADDED;
	return 0;
}

int optin_configure(struct optin *o, const char *const *cgroups, unsigned ncgroups,
		    const char *const *units, unsigned nunits, char *msg, size_t len)
{
	struct optin_entry *e, *next;
	int rc = 0;

	for (e = o->entries; e; e = e->next)
		e->mark = 0;
	for (unsigned i = 0; !rc && i < ncgroups + nunits; i++) {
		bool unit = i >= ncgroups;

		char why[PATH_MAX + 128];

		rc = optin_configure_one(o, unit ? units[i - ncgroups] : cgroups[i], unit, why,
					 sizeof(why));
		if (rc)
			snprintf(msg, len, "%s %s", unit ? "unit" : "cgroup", why);
	}
	for (e = o->entries; e; e = next) {
		next = e->next;
		/* On failure nothing changes: what was added here goes again. */
		if (rc ? e->mark == OPTIN_ADDED : e->origin == OPTIN_CONFIG && !e->mark) {
			if (!rc)
				log_info("%s: detached (no longer configured)", e->name);
			optin_entry_drop(o, e);
		}
	}
	return rc;
}

static void optin_restore_cb(enum optinfile_kind kind, const char *name, void *arg)
{
	struct optin *o = arg;
	char msg[PATH_MAX + 128];
	bool run = kind == OPTINFILE_RUN;
	int rc = optin_add(o, name, kind == OPTINFILE_UNIT, run ? OPTIN_TRANSIENT : OPTIN_RUNTIME,
			   msg, sizeof(msg));

	/* A command's cgroup is gone once the command ended. */
	if (rc && !(run && rc == -ENOENT))
		log_warnx("%s: %s (dropped)", o->state, msg);
}

/* Links an earlier agent pinned for a cgroup no opt-in names (with --optin-state none, or
 * from a version without the file) would keep running its programs, whose maps nobody
 * reads: such a cgroup becomes a run-time opt-in of this agent. */
static void optin_adopt_cb(uint64_t id, void *arg)
{
	struct optin *o = arg;
	char root[PATH_MAX], path[PATH_MAX], msg[PATH_MAX + 128];

	if (cgpath_root(root, sizeof(root)) || !cgpath_find_id(root, id, path, sizeof(path)))
		return;
	if (optin_add(o, path, false, OPTIN_RUNTIME, msg, sizeof(msg)))
		log_warnx("taking over the links pinned for %s: %s", path, msg);
	else
		log_info("%s: taken over from an earlier agent's pinned links", path);
}

int optin_restore(struct optin *o)
{
	int n = 0, err = 0;

	o->restoring = true;
	if (o->state)
		err = optinfile_read(o->state, optin_restore_cb, o);
	bpfload_foreign_pins(o->bpf, optin_adopt_cb, o);
	o->restoring = false;
	if (err)
		return err;
	for (struct optin_entry *e = o->entries; e; e = e->next)
		n += e->origin != OPTIN_CONFIG;
	optin_save(o);
	return n;
}

void optin_walk(struct optin *o, optin_cb *fn, void *arg)
{
	for (struct optin_entry *e = o->entries; e; e = e->next) {
		struct optin_info info = {
		    .name = e->name,
		    .unit = e->unit,
		    .origin = e->origin,
		    .cgroup = e->id ? e->cgroup : NULL,
		    .id = e->id,
		    .pinned = e->id && bpfload_pinned(o->bpf, e->id),
		};

		fn(&info, arg);
	}
}
