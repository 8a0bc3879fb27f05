/* main.c — dispatches `socks46 SUBCOMMAND` to its entry point. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

struct main_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct main_cmd main_cmds[] = {
    {"gateway", gateway_main, "dual-stack SOCKS5 gateway (RFC 3089 gateway G)"},
    {"agent", agent_main, "load the BPF programs, answer fake-IP DNS, forward to the gateway"},
    {"run", run_main, "run one command under redirection"},
    {"attach", attach_main, "opt a cgroup into a running agent"},
    {"detach", detach_main, "opt a cgroup out of a running agent"},
    {"status", status_main, "show fake-IP table, live connections and counters"},
    {"netns", netns_main, "serve a process's network namespace now (container hooks)"},
};

#define MAIN_NCMDS (sizeof(main_cmds) / sizeof(main_cmds[0]))

static void main_usage(FILE *f)
{
	fprintf(f, "usage: socks46 COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < MAIN_NCMDS; i++)
		fprintf(f, "  %-8s %s\n", main_cmds[i].name, main_cmds[i].summary);
	fprintf(f, "  %-8s %s\n", "version", "print the version (also --version)");
	fprintf(f, "\n`socks46 COMMAND --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		main_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("socks46 %s\n", S46_VERSION);
		return 0;
	}
	for (size_t i = 0; i < MAIN_NCMDS; i++)
		if (!strcmp(argv[1], main_cmds[i].name))
			return main_cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "socks46: unknown command '%s' (try socks46 --help)\n", argv[1]);
	return 2;
}
