/* auth.h — RFC 1929 users: a `name:hash` file with crypt(3) hashes, checked in constant time. */
#ifndef S46_AUTH_H
#define S46_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct auth_db;

/*
 * Loads a users file: one `name:hash` per line, # comments and blank lines
 * allowed. Returns 0 or -errno with err set to "FILE:LINE: message".
 */
int auth_db_load(const char *path, struct auth_db **out, char *err, size_t errlen);
void auth_db_free(struct auth_db *db);
size_t auth_db_count(const struct auth_db *db);

/*
 * True if pass matches user's hash. An unknown user is checked against the
 * hash auth_dummy_hash picks, and always fails; the final comparison is
 * constant-time.
 */
bool auth_check(const struct auth_db *db, const char *user, const char *pass);

/*
 * The hash an unknown user name is checked against: a user's of the file,
 * picked from the name by a keyed hash (SipHash, its key taken from the file's
 * hashes). A name always costs the same, and unknown names spread over the
 * file's methods and costs in the proportions its users do, so a login's time
 * does not tell whether the user exists, whatever methods the file mixes. An
 * empty file: a default (yescrypt) hash.
 */
const char *auth_dummy_hash(const struct auth_db *db, const char *user);

#endif
