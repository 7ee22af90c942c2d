/* cmd_scale.h: `jern scale APP --min N --max M ...` (autoscaling) and its
 * part of `jern ps APP`. CLI process, main thread. */
#ifndef JN_CLI_CMD_SCALE_H
#define JN_CLI_CMD_SCALE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* jern scale APP --min N --max M [--idle D] [--concurrency C] [--queue Q]
 * [--wait-timeout D] [--stable-window D] [--panic-window D]. argv[0] is
 * "scale". Returns the exit code. */
int jn_cmd_autoscale(int argc, char **argv);

/* True for the options only the autoscaling form takes. Pure. */
bool jn_cli_is_autoscale_flag(const char *arg);

/* Prints the "autoscale" object of a `ps APP` answer, if any. */
void jn_cli_ps_autoscale(const cJSON *answer);

/* "5m", "30s", "250ms", "1h", or plain seconds -> milliseconds; -1 when
 * malformed. Pure. */
long long jn_cli_duration_ms(const char *s);

#endif
