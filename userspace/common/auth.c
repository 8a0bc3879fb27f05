/* auth.c — the users file and the crypt(3) password check. */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_user {
	char *name;
	char *hash;
};

struct auth_db {
	struct auth_user *users;
	size_t n, cap;
	char dummy[CRYPT_OUTPUT_SIZE]; /* hash an unknown user is checked against */
};

void auth_db_free(struct auth_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++) {
		free(db->users[i].name);
		free(db->users[i].hash);
	}
	free(db->users);
	free(db);
}

size_t auth_db_count(const struct auth_db *db)
{
	return db ? db->n : 0;
}

/* Hashes pass with the setting (algorithm, cost, salt) of hash into out. */
static bool auth_crypt(const char *pass, const char *hash, char out[CRYPT_OUTPUT_SIZE])
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *r;
	bool ok = false;

	if (!cd)
		return false;
	r = crypt_rn(pass, hash, cd, sizeof(*cd));
	/* Failure outputs start with '*'; a valid hash never does. */
	if (r && r[0] != '*') {
		memset(out, 0, CRYPT_OUTPUT_SIZE);
		snprintf(out, CRYPT_OUTPUT_SIZE, "%s", r);
		ok = true;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

static int auth_db_add(struct auth_db *db, const char *name, const char *hash)
{
	struct auth_user *u;

	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;

		u = realloc(db->users, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		db->users = u;
		db->cap = cap;
	}
	u = &db->users[db->n];
	u->name = strdup(name);
	u->hash = strdup(hash);
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return -ENOMEM;
	}
	db->n++;
	return 0;
}

static const struct auth_user *auth_find(const struct auth_db *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->users[i].name, name))
			return &db->users[i];
	return NULL;
}

/* Checks one `name:hash` line and adds it; returns 0 or -EINVAL with msg set. */
static int auth_db_line(struct auth_db *db, char *line, char *msg, size_t msglen)
{
	char out[CRYPT_OUTPUT_SIZE];
	char *colon, *hash;
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (!n || line[0] == '#')
		return 0;
	colon = strchr(line, ':');
	if (!colon || colon == line) {
		snprintf(msg, msglen, "expected name:hash");
		return -EINVAL;
	}
	*colon = '\0';
	hash = colon + 1;
	/* /etc/shadow style lines carry more fields: the hash ends at the next colon. */
	hash[strcspn(hash, ":")] = '\0';
	if (strlen(line) > 255) {
		snprintf(msg, msglen, "user name longer than 255 bytes");
		return -EINVAL;
	}
	if (auth_find(db, line)) {
		snprintf(msg, msglen, "duplicate user '%s'", line);
		return -EINVAL;
	}
	/* A real hash re-hashes to a string of its own length (DES would take any 2-char "salt").
	 */
	if (!*hash || !auth_crypt("", hash, out) || strlen(out) != strlen(hash)) {
		snprintf(msg, msglen, "user '%s': not a crypt(3) hash this system supports", line);
		return -EINVAL;
	}
	if (auth_db_add(db, line, hash) < 0) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int auth_db_make_dummy(struct auth_db *db)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *like = NULL;

	if (db->n)
		like = db->users[0].hash;
	else if (crypt_gensalt_rn(NULL, 0, NULL, 0, setting, sizeof(setting)))
		like = setting;
	if (!like || !auth_crypt("socks46 dummy password", like, db->dummy))
		return -EINVAL;
	return 0;
}

int auth_db_load(const char *path, struct auth_db **out, char *err, size_t errlen)
{
	char line[1024], msg[512];
	struct auth_db *db;
	unsigned lineno = 0;
	int ret = 0;
	FILE *f;

	db = calloc(1, sizeof(*db));
	if (!db) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		ret = auth_db_line(db, line, msg, sizeof(msg));
		if (ret < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	if (!ret && auth_db_make_dummy(db) < 0) {
		snprintf(err, errlen, "%s: cannot compute a dummy hash", path);
		ret = -EINVAL;
	}
out:
	if (ret < 0) {
		auth_db_free(db);
		return ret;
	}
	*out = db;
	return 0;
}

/* Compares the whole buffers, whatever the content, so timing shows nothing. */
static bool auth_equal(const char *a, const char *b)
{
	volatile uint8_t diff = 0;

	for (size_t i = 0; i < CRYPT_OUTPUT_SIZE; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

bool auth_check(const struct auth_db *db, const char *user, const char *pass)
{
	char out[CRYPT_OUTPUT_SIZE], want[CRYPT_OUTPUT_SIZE];
	const struct auth_user *u;
	bool ok;

	if (!db)
		return false;
	u = auth_find(db, user);
	memset(want, 0, sizeof(want));
	snprintf(want, sizeof(want), "%s", u ? u->hash : db->dummy);
	if (!auth_crypt(pass, want, out))
		memset(out, 0xff, sizeof(out));
	ok = auth_equal(out, want) && u != NULL;
	explicit_bzero(out, sizeof(out));
	return ok;
}
