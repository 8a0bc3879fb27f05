/* cgpath.c — finds the cgroup2 mount (not always /sys/fs/cgroup) and resolves cgroup arguments. */
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
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
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
	fclose(f);
	return rc;
}

static bool cgpath_is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cgpath_resolve(const char *arg, char *out, size_t len)
{
	char root[PATH_MAX], buf[PATH_MAX * 2], real[PATH_MAX];
	int rc;

	/* "/" names the root cgroup, not the file system root. */
	if (cgpath_is_cgroup2(arg)) {
		snprintf(buf, sizeof(buf), "%s", arg);
	} else {
		rc = cgpath_root(root, sizeof(root));
		if (rc)
			return rc;
		snprintf(buf, sizeof(buf), "%s/%s", root, arg[0] == '/' ? arg + 1 : arg);
	}
	if (!realpath(buf, real))
		return -errno;
	if (!cgpath_is_cgroup2(real))
		return -ENOTDIR;
	if (strlen(real) >= len)
		return -ENAMETOOLONG;
	strcpy(out, real);
	return 0;
}
