/*
 * fuzz_config.c: libFuzzer target for the nginx-syntax config loader (lexer,
 * tree, directive table, values, inheritance, validation). It must never
 * crash, hang or leak, whatever the input.
 *
 * It calls the loader behind jn_conf_load_string with includes refused: an
 * input could otherwise say "include /proc/kmsg;" or name a fifo and hang
 * the fuzzer on a read, which tests the machine, not jern. Includes are
 * covered by tests/unit/config/test_conf.c with real files. Each input is
 * loaded twice: as jern gateway reads it, and as jern serve does (the jern
 * block and the app servers it adds).
 */
#include "config/conf.h"
#include "config/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jn_conf *conf = NULL;
    char err[512];
    static const unsigned modes[] = {JN_CONF_NO_INCLUDE, JN_CONF_NO_INCLUDE | JN_CONF_DAEMON};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (jn_conf_load_text("fuzz.conf", NULL, (const char *)data, size, modes[i], &conf, err,
                              sizeof(err)) == 0)
            jn_conf_free(conf);
        conf = NULL;
    }
    return 0;
}
