/* cgpath.h — finding the cgroup2 mount and turning a cgroup argument into a directory path. */
#ifndef S46_CGPATH_H
#define S46_CGPATH_H

#include <stddef.h>

/* The cgroup2 mount point from /proc/self/mountinfo. 0 or -ENOENT. */
int cgpath_root(char *out, size_t len);
/* A cgroup2 directory as given, else the argument relative to the cgroup2 mount
 * ("system.slice/foo.service", "/" for the root cgroup). Resolves to an absolute path.
 * 0, -ENOTDIR (not a cgroup2 directory) or -errno. */
int cgpath_resolve(const char *arg, char *out, size_t len);

#endif
