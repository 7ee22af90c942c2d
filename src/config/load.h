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

/* Loads text as jn_conf_load_string does; dir is where relative includes
 * resolve (NULL = current directory). Same returns and ownership. */
int jn_conf_load_text(const char *name, const char *dir, const char *text, size_t len,
                      unsigned flags, struct jn_conf **out, char *err, size_t errlen);

#endif
