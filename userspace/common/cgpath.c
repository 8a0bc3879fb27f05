/* cgpath.c — finds the cgroup2 mount (not always /sys/fs/cgroup) and resolves cgroup arguments. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cgpath.h"

int cgpath_root(char *out, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	/* Whole lines: mount options (overlayfs layer lists) can be longer than any buffer. */
	while (getline(&line, &cap, f) >= 0) {
		/* Fields: id parent major:minor root mountpoint options [optional...] - fstype ...
		 */
		char *sep = strstr(line, " - "), *mnt;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		strtok(line, " ");
		for (int i = 0; i < 3; i++)
			strtok(NULL, " ");
		mnt = strtok(NULL, " ");
		if (mnt && strlen(mnt) < len) {
			strcpy(out, mnt);
			rc = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static bool cgpath_is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* How deep the whole tree is searched for a cgroup id. */
#define CGPATH_FIND_DEPTH 32

/* arg as given if it is a cgroup2 path, else relative to the cgroup2 mount. */
static int cgpath_join(const char *arg, char *buf, size_t len)
{
	char root[PATH_MAX];
	size_t n;
	int rc;

	/* "/" names the root cgroup, not the file system root. */
	if (cgpath_is_cgroup2(arg)) {
		snprintf(buf, len, "%s", arg);
		return 0;
	}
	rc = cgpath_root(root, sizeof(root));
	if (rc)
		return rc;
	/* Already below the mount (a cgroup that does not exist yet). */
	n = strlen(root);
	if (!strncmp(arg, root, n) && (arg[n] == '/' || !arg[n]) && n > 1) {
		snprintf(buf, len, "%s", arg);
		return strlen(arg) < len ? 0 : -ENAMETOOLONG;
	}
	if (snprintf(buf, len, "%s/%s", root, arg[0] == '/' ? arg + 1 : arg) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* The absolute path of a cgroup2 directory, symbolic links resolved. */
static int cgpath_real(const char *path, char *out, size_t len)
{
	char real[PATH_MAX];

	if (!realpath(path, real))
		return -errno;
	if (!cgpath_is_cgroup2(real))
		return -ENOTDIR;
	if (strlen(real) >= len)
		return -ENAMETOOLONG;
	strcpy(out, real);
	return 0;
}

int cgpath_resolve(const char *arg, char *out, size_t len)
{
	char buf[PATH_MAX * 2];
	int rc = cgpath_join(arg, buf, sizeof(buf));

	return rc ? rc : cgpath_real(buf, out, len);
}

int cgpath_resolve_leaf(const char *arg, char *out, size_t len)
{
	char buf[PATH_MAX * 2], parent[PATH_MAX], *slash;
	size_t n;
	int rc = cgpath_join(arg, buf, sizeof(buf));

	if (rc)
		return rc;
	rc = cgpath_real(buf, out, len);
	if (rc != -ENOENT)
		return rc;
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || !strcmp(slash, "/.") || !strcmp(slash, "/.."))
		return -EINVAL;
	*slash = '\0';
	rc = cgpath_real(*buf ? buf : "/", parent, sizeof(parent));
	if (rc)
		return rc;
	if (snprintf(out, len, "%s/%s", parent, slash + 1) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static bool cgpath_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && !strcmp(name + n - s, suffix);
}

int cgpath_unit_name(const char *name, char *out, size_t len)
{
	if (!*name || *name == '.' || strchr(name, '/') || strlen(name) > NAME_MAX - 8)
		return -EINVAL;
	if (cgpath_suffix(name, ".service") || cgpath_suffix(name, ".scope") ||
	    cgpath_suffix(name, ".slice"))
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s.service", name);
	return 0;
}

/* What a walk of the cgroup tree looks for: a directory by name (a unit) or by inode (an id). */
struct cgpath_want {
	const char *name;
	uint64_t id;
	int max_depth;
	bool slices_only; /* descend only into *.slice, where systemd puts units */
};

static bool cgpath_is_wanted(const struct cgpath_want *w, const struct dirent *de)
{
	return w->name ? !strcmp(de->d_name, w->name) : de->d_ino == w->id;
}

static int cgpath_walk(const char *dir, const struct cgpath_want *w, char *out, size_t len,
		       int depth)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (cgpath_is_wanted(w, de))
			found = snprintf(out, len, "%s", p) < (int)len;
		else if (depth < w->max_depth &&
			 (!w->slices_only || cgpath_suffix(de->d_name, ".slice")))
			found = cgpath_walk(p, w, out, len, depth + 1);
	}
	closedir(d);
	return found;
}

int cgpath_unit_find(const char *root, const char *unit, char *out, size_t len)
{
	const struct cgpath_want w = {
	    .name = unit, .max_depth = CGPATH_SLICE_DEPTH, .slices_only = true};

	return cgpath_walk(root, &w, out, len, 0);
}

void cgpath_strerror(const char *arg, int rc, char *err, size_t errlen)
{
	char root[PATH_MAX];

	if (cgpath_root(root, sizeof(root)) == -ENOENT)
		snprintf(
		    err, errlen,
		    "%s: no cgroup2 file system is mounted here (`ip netns exec` mounts its own "
		    "/sys without one: enter the namespace with `nsenter --net=/run/netns/NAME` "
		    "instead, or mount cgroup2 on /sys/fs/cgroup)",
		    arg);
	else if (rc == -ENOTDIR)
		snprintf(err, errlen, "%s: not a cgroup2 directory", arg);
	else
		snprintf(err, errlen, "%s: %s", arg, strerror(-rc));
}

int cgpath_find_id(const char *root, uint64_t id, char *out, size_t len)
{
	const struct cgpath_want w = {.id = id, .max_depth = CGPATH_FIND_DEPTH};
	struct stat st;

	if (!stat(root, &st) && st.st_ino == id)
		return snprintf(out, len, "%s", root) < (int)len;
	return cgpath_walk(root, &w, out, len, 0);
}
