/* auth.c — the users file and the crypt(3) password check. */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct auth_user {
	char *name;
	char *hash;
};

struct auth_db {
	struct auth_user *users;
	size_t n, cap;
	uint64_t key[2];	       /* picks the user whose hash an unknown name costs */
	char dummy[CRYPT_OUTPUT_SIZE]; /* an empty file's stand-in hash */
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

/* Where a line comes from, for errors and warnings. */
struct auth_src {
	const char *path;
	unsigned line;
};

/* Traditional DES (descrypt: 13 characters; bigcrypt: 11 more per further 8 password bytes). */
static bool auth_is_des(const char *hash)
{
	size_t n = strlen(hash);

	return n >= 13 && (n - 13) % 11 == 0 &&
	       strspn(hash, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
		   n;
}

/* The rounds= of a sha256crypt/sha512crypt setting; 5000 (their default) without one. */
static unsigned long auth_sha_rounds(const char *hash)
{
	if (strncmp(hash + 3, "rounds=", 7))
		return 5000;
	return strtoul(hash + 10, NULL, 10);
}

/* Why a method is weak, or NULL. Weak hashes still work: a warning names each user once. */
static const char *auth_weakness(const char *hash)
{
	if (!strncmp(hash, "$1$", 3))
		return "md5crypt ($1$) is fast to brute-force";
	if (!strncmp(hash, "$3$", 3))
		return "the NT hash ($3$) is unsalted and fast to brute-force";
	if (!strncmp(hash, "$md5", 4))
		return "SunMD5 is fast to brute-force";
	if (!strncmp(hash, "$sha1$", 6))
		return "sha1crypt is fast to brute-force";
	if (hash[0] == '_')
		return "bsdicrypt (DES-based) is fast to brute-force";
	if ((!strncmp(hash, "$5$", 3) || !strncmp(hash, "$6$", 3)) && auth_sha_rounds(hash) < 5000)
		return "fewer than 5000 rounds of sha256crypt/sha512crypt";
	return NULL;
}

/* Checks the hash of one user: 0, or -EINVAL with msg set; warns once about a weak method. */
static int auth_check_hash(const char *name, const char *hash, const struct auth_src *src,
			   char *msg, size_t msglen)
{
	char out[CRYPT_OUTPUT_SIZE];
	const char *weak;

	if (auth_is_des(hash)) {
		snprintf(msg, msglen,
			 "user '%s': a DES crypt hash checks only the first 8 bytes of a password; "
			 "make a new one (mkpasswd -m yescrypt)",
			 name);
		return -EINVAL;
	}
	/* A real hash re-hashes to a string of its own length. */
	if (!*hash || !auth_crypt("", hash, out) || strlen(out) != strlen(hash)) {
		snprintf(msg, msglen, "user '%s': not a crypt(3) hash this system supports", name);
		return -EINVAL;
	}
	weak = auth_weakness(hash);
	if (weak)
		log_warnx("%s:%u: user '%s': weak password hash: %s; make a new one (mkpasswd -m "
			  "yescrypt)",
			  src->path, src->line, name, weak);
	return 0;
}

/* Checks one `name:hash` line and adds it; returns 0 or -EINVAL with msg set. */
static int auth_db_line(struct auth_db *db, char *line, const struct auth_src *src, char *msg,
			size_t msglen)
{
	char *colon, *hash;
	size_t n = strlen(line);
	int ret;

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
	if ((ret = auth_check_hash(line, hash, src, msg, msglen)) < 0)
		return ret;
	if (auth_db_add(db, line, hash) < 0) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

#define AUTH_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void auth_sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = AUTH_ROTL(v[1], 13) ^ v[0];
	v[0] = AUTH_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = AUTH_ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = AUTH_ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = AUTH_ROTL(v[1], 17) ^ v[2];
	v[2] = AUTH_ROTL(v[2], 32);
}

/* SipHash-2-4: a keyed hash whose output tells nothing without the key. */
static uint64_t auth_siphash(const uint64_t key[2], const char *s)
{
	uint64_t v[4] = {key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
			 key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL};
	size_t len = strlen(s), i = 0;
	uint64_t m;

	for (;; i += 8) {
		size_t left = len - i < 8 ? len - i : 8;

		m = 0;
		for (size_t k = 0; k < left; k++)
			m |= (uint64_t)(uint8_t)s[i + k] << (8 * k);
		if (left < 8) {
			m |= (uint64_t)(len & 0xff) << 56;
			break;
		}
		v[3] ^= m;
		auth_sipround(v);
		auth_sipround(v);
		v[0] ^= m;
	}
	v[3] ^= m;
	auth_sipround(v);
	auth_sipround(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		auth_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/*
 * The key comes from the file's hashes (salts and digests an attacker does not know), so it
 * is secret and the same across restarts and reloads of an unchanged file: an unknown name
 * keeps its cost, as a real user keeps theirs.
 */
static int auth_db_make_dummy(struct auth_db *db)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	for (size_t i = 0; i < db->n; i++) {
		db->key[0] = auth_siphash(db->key, db->users[i].hash);
		db->key[1] = auth_siphash(db->key, db->users[i].hash);
	}
	if (db->n)
		return 0;
	if (!crypt_gensalt_rn(NULL, 0, NULL, 0, setting, sizeof(setting)) ||
	    !auth_crypt("socks46 dummy password", setting, db->dummy))
		return -EINVAL;
	return 0;
}

const char *auth_dummy_hash(const struct auth_db *db, const char *user)
{
	if (!db->n)
		return db->dummy;
	return db->users[auth_siphash(db->key, user) % db->n].hash;
}

int auth_db_load(const char *path, struct auth_db **out, char *err, size_t errlen)
{
	struct auth_src src = {.path = path};
	char *line = NULL, msg[512];
	size_t cap = 0;
	struct auth_db *db;
	ssize_t n;
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
	/* Whole lines of any length: a long comment must never continue as a user line. */
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		src.line++;
		if (memchr(line, '\0', (size_t)n)) {
			snprintf(msg, sizeof(msg), "NUL byte in the line");
			ret = -EINVAL;
		} else {
			ret = auth_db_line(db, line, &src, msg, sizeof(msg));
		}
		if (ret < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, src.line, msg);
			break;
		}
	}
	if (!ret && ferror(f)) {
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: read error: %s", path, strerror(-ret));
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
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
	snprintf(want, sizeof(want), "%s", u ? u->hash : auth_dummy_hash(db, user));
	if (!auth_crypt(pass, want, out))
		memset(out, 0xff, sizeof(out));
	ok = auth_equal(out, want) && u != NULL;
	explicit_bzero(out, sizeof(out));
	return ok;
}
