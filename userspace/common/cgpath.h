/* cgpath.h — finding the cgroup2 mount and turning a cgroup argument into a directory path. */
#ifndef S46_CGPATH_H
#define S46_CGPATH_H

#include <stddef.h>
#include <stdint.h>

/* The cgroup2 mount point from /proc/self/mountinfo. 0 or -ENOENT. */
int cgpath_root(char *out, size_t len);
/* A cgroup2 directory as given, else the argument relative to the cgroup2 mount
 * ("system.slice/foo.service", "/" for the root cgroup). Resolves to an absolute path.
 * 0, -ENOTDIR (not a cgroup2 directory) or -errno. */
int cgpath_resolve(const char *arg, char *out, size_t len);
/* The same for a cgroup that may not exist yet: only its parent must. */
int cgpath_resolve_leaf(const char *arg, char *out, size_t len);
/* One line on why cgpath_resolve(arg) failed with rc, naming what to do when no cgroup2 file
 * system is visible at all (`ip netns exec` mounts a fresh /sys without it). */
void cgpath_strerror(const char *arg, int rc, char *err, size_t errlen);

/* How deep slices are searched: they nest a few levels (a.slice/a-b.slice/...). */
#define CGPATH_SLICE_DEPTH 16
/* A systemd unit name as its cgroup directory is named: NAME.service, .scope or .slice as
 * given, a bare NAME as NAME.service. 0, or -EINVAL for what cannot be a unit name. */
int cgpath_unit_name(const char *name, char *out, size_t len);
/* The cgroup of a running unit: a directory of that name in the slice tree under root
 * (systemd puts units in slices: system.slice/foo.service). 1 if found, else 0. */
int cgpath_unit_find(const char *root, const char *unit, char *out, size_t len);
/* The cgroup whose id (inode number) is id, anywhere under root. 1 if found, else 0. */
int cgpath_find_id(const char *root, uint64_t id, char *out, size_t len);

#endif
