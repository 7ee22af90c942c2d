/*
 * replay_main.c: a main() for fuzz targets built without libFuzzer. Feeds each
 * file named on the command line to LLVMFuzzerTestOneInput once, so corpora
 * run as regression tests under gcc and its sanitizers. An invariant failure
 * aborts; a file that cannot be read is an error too.
 */
#include "fuzz/check.h"

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "replay: cannot open %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        size_t cap = 4096, len = 0, got;
        uint8_t *buf = malloc(cap);
        while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap)
                buf = realloc(buf, cap *= 2);
        }
        if (!buf || ferror(f)) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
        fclose(f);
        /* Exactly sized, as libFuzzer passes it, so over-reads are caught. */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        n++;
    }
    printf("replayed %d files\n", n);
    return 0;
}
