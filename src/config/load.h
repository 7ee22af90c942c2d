/*
 * load.h: the loader behind jn_conf_load and jn_conf_load_string, with
 * options that only tests and fuzzers need.
 */
#ifndef JN_CONFIG_LOAD_H
#define JN_CONFIG_LOAD_H

#include "config/conf.h"

/* Refuse "include" instead of reading files: fuzz inputs could otherwise name
 * any file on the machine (a fifo, /proc/kmsg) and hang the fuzzer. */
#define JN_CONF_NO_INCLUDE 0x1u
/* jern serve: accept the jern { } block; apps answer on its listen addresses
 * (each gets a server answering 404 for hosts no app has, after the file's
 * servers), or on 127.0.0.1:8080 when the file has no http block. */
#define JN_CONF_DAEMON 0x2u

/* Loads text as jn_conf_load_string does; dir is where relative includes
 * resolve (NULL = current directory). Same returns and ownership. */
int jn_conf_load_text(const char *name, const char *dir, const char *text, size_t len,
                      unsigned flags, struct jn_conf **out, char *err, size_t errlen);

/* Loads the file at path as jn_conf_load does, with flags. */
int jn_conf_load_file(const char *path, unsigned flags, struct jn_conf **out, char *err,
                      size_t errlen);

#endif
