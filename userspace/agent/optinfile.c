/* optinfile.c — reads and writes the list of run-time opt-ins kept across agent restarts. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "optinfile.h"

#define OPTINFILE_NKINDS 3
static const char *const optinfile_keys[OPTINFILE_NKINDS] = {"cgroup", "unit", "run"};

int optinfile_read(const char *path, optinfile_cb *fn, void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	/* Whole lines: the tail of an over-long one must not read as an opt-in of its own. */
	while (getline(&line, &cap, f) >= 0) {
		char *val = line + strcspn(line, " \t");

		line[strcspn(line, "\r\n")] = '\0';
		if (!*val)
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		if (!*val)
			continue;
		for (int k = 0; k < OPTINFILE_NKINDS; k++)
			if (!strcmp(line, optinfile_keys[k]))
				fn((enum optinfile_kind)k, val, arg);
	}
	free(line);
	fclose(f);
	return 0;
}

int optinfile_write(const char *path, const struct optinfile_item *items, size_t n)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	FILE *f;
	int err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# run-time opt-ins (socks46 attach), attached again when the agent starts\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s\n", optinfile_keys[items[i].kind], items[i].name);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

struct optinfile_keep {
	struct optinfile_item *items;
	size_t n;
	enum optinfile_kind kind;
	bool dropped;
	const char *name;
	int err;
};

static void optinfile_keep_cb(enum optinfile_kind kind, const char *name, void *arg)
{
	struct optinfile_keep *k = arg;
	struct optinfile_item *it;

	if (kind == k->kind && !strcmp(name, k->name)) {
		k->dropped = true;
		return;
	}
	it = realloc(k->items, (k->n + 1) * sizeof(*it));
	if (!it || !(it[k->n].name = strdup(name))) {
		if (it)
			k->items = it;
		k->err = -ENOMEM;
		return;
	}
	it[k->n++].kind = kind;
	k->items = it;
}

int optinfile_drop(const char *path, enum optinfile_kind kind, const char *name)
{
	struct optinfile_keep k = {.kind = kind, .name = name};
	int err = optinfile_read(path, optinfile_keep_cb, &k);

	if (!err)
		err = k.err;
	if (!err && k.dropped)
		err = optinfile_write(path, k.items, k.n);
	for (size_t i = 0; i < k.n; i++)
		free((char *)k.items[i].name);
	free(k.items);
	return err ? err : k.dropped;
}
