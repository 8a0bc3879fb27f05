/* json.c — a recursive-descent JSON parser into a tree, lookups and a compact writer. */
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct json_parser {
	const char *p;
	int depth;
};

static struct json *json_parse_value(struct json_parser *ps);

static void json_ws(struct json_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static struct json *json_new(enum json_type type)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = type;
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;

		json_free(j->child);
		free(j->key);
		free(j->text);
		free(j);
		j = next;
	}
}

static int json_hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int c = s[i];

		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}

/* Appends code point cp as UTF-8. */
static char *json_put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Reads one \u escape (with its surrogate pair) at s (after the 'u'). */
static int json_unicode(const char **s, unsigned *cp)
{
	unsigned hi, lo;

	if (json_hex4(*s, &hi))
		return -EINVAL;
	*s += 4;
	if (hi < 0xd800 || hi > 0xdfff) {
		*cp = hi;
		return 0;
	}
	if (hi > 0xdbff || (*s)[0] != '\\' || (*s)[1] != 'u' || json_hex4(*s + 2, &lo) ||
	    lo < 0xdc00 || lo > 0xdfff)
		return -EINVAL;
	*s += 6;
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/* The one-character escapes after a backslash, and what each stands for. */
static const char json_escapes[] = "\"\\/bfnrt";
static const char json_unescaped[] = "\"\\/\b\f\n\r\t";

/* A string at ps->p (on the opening quote); a malloc'd unescaped copy or NULL. */
static char *json_parse_string(struct json_parser *ps)
{
	const char *s = ps->p + 1;
	char *out = malloc(strlen(s) + 1), *o = out;
	const char *esc;
	unsigned cp;

	if (!out)
		return NULL;
	while (*s != '"') {
		if ((unsigned char)*s < 0x20)
			goto bad; /* includes the terminating NUL */
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		if (*s == 'u') {
			s++;
			if (json_unicode(&s, &cp) || !cp)
				goto bad;
			o = json_put_utf8(o, cp);
			continue;
		}
		esc = *s ? strchr(json_escapes, *s) : NULL;
		if (!esc)
			goto bad;
		*o++ = json_unescaped[esc - json_escapes];
		s++;
	}
	*o = '\0';
	ps->p = s + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static struct json *json_parse_number(struct json_parser *ps)
{
	const char *s = ps->p;
	struct json *j;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return NULL;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return NULL;
		while (isdigit((unsigned char)*s))
			s++;
	}
	j = json_new(JSON_NUMBER);
	if (!j || !(j->text = strndup(ps->p, (size_t)(s - ps->p)))) {
		free(j);
		return NULL;
	}
	ps->p = s;
	return j;
}

static struct json *json_parse_word(struct json_parser *ps)
{
	static const struct {
		const char *w;
		enum json_type t;
		bool b;
	} words[] = {
	    {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}, {"null", JSON_NULL, false}};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i].w);
		struct json *j;

		if (strncmp(ps->p, words[i].w, n))
			continue;
		j = json_new(words[i].t);
		if (j) {
			j->b = words[i].b;
			ps->p += n;
		}
		return j;
	}
	return NULL;
}

/* Elements or members up to close; objects read "key": before each value. */
static struct json *json_parse_container(struct json_parser *ps, enum json_type type, char close)
{
	struct json *j = json_new(type), **tail;
	char *key = NULL;

	if (!j || ++ps->depth > JSON_MAX_DEPTH)
		goto bad;
	tail = &j->child;
	ps->p++;
	json_ws(ps);
	if (*ps->p == close)
		goto done;
	for (;;) {
		json_ws(ps);
		if (type == JSON_OBJECT) {
			if (*ps->p != '"' || !(key = json_parse_string(ps)))
				goto bad;
			json_ws(ps);
			if (*ps->p++ != ':')
				goto bad;
		}
		*tail = json_parse_value(ps);
		if (!*tail)
			goto bad;
		(*tail)->key = key;
		key = NULL;
		tail = &(*tail)->next;
		json_ws(ps);
		if (*ps->p == close)
			break;
		if (*ps->p++ != ',')
			goto bad;
	}
done:
	ps->p++;
	ps->depth--;
	return j;
bad:
	free(key);
	json_free(j);
	return NULL;
}

static struct json *json_parse_value(struct json_parser *ps)
{
	struct json *j;

	json_ws(ps);
	switch (*ps->p) {
	case '{':
		return json_parse_container(ps, JSON_OBJECT, '}');
	case '[':
		return json_parse_container(ps, JSON_ARRAY, ']');
	case '"':
		j = json_new(JSON_STRING);
		if (j && !(j->text = json_parse_string(ps))) {
			free(j);
			j = NULL;
		}
		return j;
	case 't':
	case 'f':
	case 'n':
		return json_parse_word(ps);
	default:
		return json_parse_number(ps);
	}
}

int json_parse(const char *text, struct json **out)
{
	struct json_parser ps = {.p = text};
	struct json *j = json_parse_value(&ps);

	*out = NULL;
	if (!j)
		return -EINVAL;
	json_ws(&ps);
	if (*ps.p) {
		json_free(j);
		return -EINVAL;
	}
	*out = j;
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *json_get_str(const struct json *obj, const char *key, const char *def)
{
	const struct json *m = json_get(obj, key);

	return m && m->type == JSON_STRING ? m->text : def;
}

unsigned long long json_get_uint(const struct json *obj, const char *key)
{
	const struct json *m = json_get(obj, key);

	if (!m || m->type != JSON_NUMBER || m->text[0] == '-')
		return 0;
	return strtoull(m->text, NULL, 10);
}

bool json_get_bool(const struct json *obj, const char *key)
{
	const struct json *m = json_get(obj, key);

	return m && m->type == JSON_BOOL && m->b;
}

static int json_append(struct json *obj, const char *key, enum json_type type, const char *text)
{
	struct json *j = json_new(type), **tail = &obj->child;

	if (!j || !(j->key = strdup(key)) || !(j->text = strdup(text))) {
		json_free(j);
		return -ENOMEM;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = j;
	return 0;
}

int json_add_str(struct json *obj, const char *key, const char *val)
{
	return json_append(obj, key, JSON_STRING, val);
}

int json_add_uint(struct json *obj, const char *key, unsigned long long val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", val);
	return json_append(obj, key, JSON_NUMBER, buf);
}

void json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void json_write(FILE *f, const struct json *j)
{
	switch (j->type) {
	case JSON_NULL:
		fputs("null", f);
		break;
	case JSON_BOOL:
		fputs(j->b ? "true" : "false", f);
		break;
	case JSON_NUMBER:
		fputs(j->text, f);
		break;
	case JSON_STRING:
		json_write_str(f, j->text);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		fputc(j->type == JSON_ARRAY ? '[' : '{', f);
		for (const struct json *c = j->child; c; c = c->next) {
			if (c != j->child)
				fputc(',', f);
			if (j->type == JSON_OBJECT) {
				json_write_str(f, c->key);
				fputc(':', f);
			}
			json_write(f, c);
		}
		fputc(j->type == JSON_ARRAY ? ']' : '}', f);
		break;
	}
}
