/* fuzz_conf.c — libFuzzer harness for the `key value` file reader with the gateway's key table. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gateway/gwconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[CONF_ERRLEN];
	struct gwconf c;
	int fd, ret;

	/* A password file named by the input could be anything on this host (a FIFO, a tty). */
	if (memmem(data, size, "password-file", 13))
		return 0;
	fd = memfd_create("fuzz_conf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	gwconf_defaults(&c);
	err[0] = '\0';
	ret = gwconf_load_file(&c, path, err, sizeof(err));
	/* Every failure says where: the file, then the line. */
	if (ret < 0 && strncmp(err, path, strlen(path)))
		abort();
	if (ret == 0 && (c.nlisten < 1 || c.nlisten > GWCONF_MAX_LISTEN))
		abort();
	gwconf_free(&c);
	close(fd);
	return 0;
}
