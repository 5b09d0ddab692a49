#ifndef VIREO_CLI_CLI_H
#define VIREO_CLI_CLI_H

int cmd_run(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_img(int argc, char **argv);

/* ${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest/<name> */
int cli__guest_path(const char *name, char *buf, unsigned len);

#endif
