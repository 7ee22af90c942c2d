/*
 * fuzz_config.c: libFuzzer target for the nginx-syntax config loader (lexer,
 * tree, directive table, values, inheritance, validation). It must never
 * crash, hang or leak, whatever the input.
 *
 * It calls the loader behind jn_conf_load_string with includes refused: an
 * input could otherwise say "include /proc/kmsg;" or name a fifo and hang
 * the fuzzer on a read, which tests the machine, not jern. Includes are
 * covered by tests/unit/config/test_conf.c with real files.
 */
#include "config/conf.h"
#include "config/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jn_conf *conf = NULL;
    char err[512];
    if (jn_conf_load_text("fuzz.conf", NULL, (const char *)data, size, JN_CONF_NO_INCLUDE, &conf,
                          err, sizeof(err)) == 0)
        jn_conf_free(conf);
    return 0;
}
