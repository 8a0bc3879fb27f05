/* lsm_attach.c — loads a BPF object, attaches its programs and pins the links for a shell test. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

/* bpftool 7.1 (Debian 12) loads LSM programs but cannot attach them. */
static int lsm_attach_pin(struct bpf_object *obj, const char *dir)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	char path[PATH_MAX];
	int err;

	for (prog = bpf_object__next_program(obj, NULL); prog;
	     prog = bpf_object__next_program(obj, prog)) {
		link = bpf_program__attach(prog);
		if (!link)
			return -errno;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(prog));
		err = bpf_link__pin(link, path);
		/* The pin holds the link; our reference goes, the attachment stays. */
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
		if (err)
			return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ PIN_DIR\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "lsm_attach: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (!err)
		err = lsm_attach_pin(obj, argv[2]);
	if (err)
		fprintf(stderr, "lsm_attach: %s: %s\n", argv[1], strerror(-err));
	bpf_object__close(obj);
	return err ? 1 : 0;
}
