/*
 * exec_cmd.c: whether an exec instance's command needs a shell. Most app
 * commands are a program and its arguments ("python3 app.py", "bin/server
 * --port 8080"); those run directly, which spares an exec of /bin/sh and its
 * fork on every start (a cold start waits for both). Anything a shell would
 * read differently (quotes, $, globs, redirections, ;, &, |, ~, assignments,
 * backslashes, comments) keeps `sh -c`. See exec_int.h.
 */
#include "core/common.h"

#include "runtime/exec_int.h"

static bool plain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_-./,:@%+=", c) != NULL;
}

bool jn_exec_split_simple(const char *command, char *const *env, char **words, char **argv)
{
    *words = NULL;
    if (!command)
        return false;
    for (char *const *e = env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0 && e != env)
            return false; /* the app's own PATH: let sh search it */
    size_t n = 0;
    bool in_word = false, first_eq = false;
    for (const char *p = command; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            in_word = false;
            continue;
        }
        if (!plain_char(*p))
            return false;
        if (!in_word && ++n > EXEC_ARGS_CAP)
            return false;
        if (n == 1 && *p == '=')
            first_eq = true;
        in_word = true;
    }
    if (n == 0 || first_eq)
        return false;
    char *w = jn_strdup(command);
    size_t k = 0;
    for (char *p = w; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        argv[k++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    argv[k] = NULL;
    *words = w;
    return true;
}
