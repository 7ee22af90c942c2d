/*
 * exec_logrec.c: the records of an exec instance's output files ("MS s TEXT"
 * lines, s: o or e) read back for jern logs. See exec_int.h.
 */
#include "core/common.h"

#include "runtime/exec_int.h"

#include <stdio.h>

/* One parsed log record. */
bool jn_exec_parse_record(const char *line, int64_t *ms, char *stream, const char **text)
{
    char *end;
    *ms = strtoll(line, &end, 10);
    if (end == line || end[0] != ' ' || (end[1] != 'o' && end[1] != 'e') || end[2] != ' ')
        return false;
    *stream = end[1];
    *text = end + 3;
    return true;
}

/* Hands one record to the sink: its text, or with timestamps "MS TEXT". */
int jn_exec_emit(jn_log_sink sink, void *arg, bool stamps, const char *line, size_t len,
                char stream, const char *text)
{
    enum jn_log_stream st = stream == 'e' ? JN_STREAM_STDERR : JN_STREAM_STDOUT;
    if (!stamps)
        return sink(arg, st, text, (size_t)(line + len - text));
    /* "MS s TEXT": drop the stream letter, keep the stamp. */
    size_t ms_len = (size_t)(text - line) - 3, tlen = (size_t)(line + len - text);
    char *b = jn_malloc(ms_len + 1 + tlen);
    memcpy(b, line, ms_len);
    b[ms_len] = ' ';
    memcpy(b + ms_len + 1, text, tlen);
    int r = sink(arg, st, b, ms_len + 1 + tlen);
    free(b);
    return r;
}

/* Sends the whole records of path from off on; 1 when the sink stopped. */
int jn_exec_emit_file(const char *path, long off, int64_t since_ms, bool stamps, jn_log_sink sink,
                     void *arg)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0; /* rotated away meanwhile */
    fseek(f, off, SEEK_SET);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t ms;
    char stream;
    const char *text;
    int stop = 0;
    while (!stop && (len = getline(&line, &cap, f)) > 0)
        if (line[len - 1] == '\n' && jn_exec_parse_record(line, &ms, &stream, &text) && ms >= since_ms)
            stop = jn_exec_emit(sink, arg, stamps, line, (size_t)len, stream, text) != 0;
    free(line);
    fclose(f);
    return stop;
}

