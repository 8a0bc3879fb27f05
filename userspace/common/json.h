/* json.h — small JSON: a tree parsed, looked up, added to and written back; escaped strings. */
#ifndef S46_JSON_H
#define S46_JSON_H

#include <stdbool.h>
#include <stdio.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	char *key;  /* member name inside an object, else NULL */
	char *text; /* string value, or a number as written (64-bit cookies stay exact) */
	bool b;
	struct json *child; /* first element or member */
	struct json *next;  /* next sibling */
};

/* Parses one value filling the whole text (surrounding white space allowed); nesting
 * deeper than 64 is refused. Returns 0, -EINVAL or -ENOMEM. */
int json_parse(const char *text, struct json **out);
void json_free(struct json *j);

/* Member key of an object, or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* The string member key, or def when absent or not a string. */
const char *json_get_str(const struct json *obj, const char *key, const char *def);
/* The number member key as an unsigned integer, or 0. */
unsigned long long json_get_uint(const struct json *obj, const char *key);
bool json_get_bool(const struct json *obj, const char *key);

/* Appends a member to an object. Return 0 or -ENOMEM. */
int json_add_str(struct json *obj, const char *key, const char *val);
int json_add_uint(struct json *obj, const char *key, unsigned long long val);

/* Writes j compactly (strings escaped). */
void json_write(FILE *f, const struct json *j);
/* Writes s as a JSON string: quoted, '"' and '\\' escaped, control characters as \u00XX. */
void json_write_str(FILE *f, const char *s);

#endif
