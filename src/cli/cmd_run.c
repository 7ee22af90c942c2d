/*
 * cmd_run.c: jern run APP -- CMD [ARGS]: a one-off process with what the app
 * serves and its config (a migration, a task), its output streamed as it
 * comes, its exit status passed through as jern's.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"

#include <stdio.h>

#define RUN_USAGE "run APP -- COMMAND [ARGS...]"

struct run_state {
    int code;    /* the process's exit status; -1 until known */
    bool failed; /* an error line came */
};

static void on_line(void *arg, const cJSON *o)
{
    struct run_state *st = arg;
    const cJSON *exit_code = cJSON_GetObjectItemCaseSensitive(o, "exit");
    if (cJSON_IsNumber(exit_code)) {
        st->code = exit_code->valueint;
        return;
    }
    const char *err = jn_client_str(o, "error");
    if (*err) {
        fprintf(stderr, "jern: run: %s\n", err);
        st->failed = true;
        return;
    }
    const char *text = jn_client_str(o, "text");
    FILE *f = strcmp(jn_client_str(o, "stream"), "stderr") == 0 ? stderr : stdout;
    fputs(text, f);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', f);
    fflush(f);
}

int jn_cmd_run(int argc, char **argv)
{
    /* Everything after "--" belongs to the command, --json included. */
    int dash = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
    char **cmd = dash < argc ? argv + dash + 1 : NULL;
    int ncmd = dash < argc ? argc - dash - 1 : 0;
    struct jn_client c;
    int n = jn_client_init(&c, dash, argv);
    if (n < 0)
        return 2;
    if (n == 3 && !cmd) { /* jern run APP CMD: one word, no "--" */
        cmd = &argv[2];
        ncmd = 1;
        n = 2;
    }
    if (n != 2 || ncmd == 0 || argv[1][0] == '-') {
        jn_client_free(&c);
        return jn_client_usage(RUN_USAGE);
    }
    cJSON *b = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(b, "argv");
    for (int i = 0; i < ncmd; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(cmd[i]));
    char *e = jn_client_escape(argv[1]);
    char path[256];
    snprintf(path, sizeof(path), "/v1/apps/%.200s/run", e);
    free(e);
    struct run_state st = {.code = -1};
    cJSON *o = NULL;
    int status = jn_client_stream(&c, "POST", path, b, on_line, &st, &o);
    int rc;
    if (status < 0)
        rc = 1;
    else if (status != 200)
        rc = jn_client_fail(status, o);
    else if (st.failed || st.code < 0)
        rc = 1;
    else
        rc = st.code & 0xff;
    if (status == 200 && !st.failed && st.code < 0)
        fprintf(stderr, "jern: run: the daemon ended the stream without an exit status\n");
    cJSON_Delete(o);
    cJSON_Delete(b);
    jn_client_free(&c);
    return rc;
}
