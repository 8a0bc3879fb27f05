/* fuzz_field.h — splits a fuzzer's input into '\n'-terminated text fields, shared by the harnesses.
 */
#ifndef S46_FUZZ_FIELD_H
#define S46_FUZZ_FIELD_H

#include <stddef.h>

/* Copies the next '\n'-terminated field of [p, end) into out (truncated to fit, NULs end it
 * early) and returns where the next field starts. */
static inline const char *fuzz_field(const char *p, const char *end, char *out, size_t len)
{
	size_t n = 0;

	while (p < end && *p != '\n') {
		if (n + 1 < len)
			out[n++] = *p;
		p++;
	}
	out[n] = '\0';
	return p < end ? p + 1 : p;
}

#endif
