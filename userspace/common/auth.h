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
 * True if pass matches user's hash. An unknown user is checked against a
 * dummy hash of the same kind, so the time taken does not tell whether the
 * user exists; the final comparison is constant-time.
 */
bool auth_check(const struct auth_db *db, const char *user, const char *pass);

#endif
