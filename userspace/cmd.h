/* cmd.h — the subcommands of the socks46 executable, one entry point each. */
#ifndef S46_CMD_H
#define S46_CMD_H

int gateway_main(int argc, char **argv);
int agent_main(int argc, char **argv);
int run_main(int argc, char **argv);
int attach_main(int argc, char **argv);
int detach_main(int argc, char **argv);
int status_main(int argc, char **argv);
int netns_main(int argc, char **argv);

#endif
