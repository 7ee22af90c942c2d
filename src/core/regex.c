#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

struct jn_regex {
    pcre2_code *code;
};

/* One match block per thread (only whether it matched is asked, so one
 * pair suffices), freed when the thread ends. */
static __thread pcre2_match_data *thread_md;
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *md)
{
    pcre2_match_data_free(md);
}

static void md_key_make(void)
{
    if (pthread_key_create(&md_key, md_free) != 0)
        abort();
}

int jn_regex_compile(const char *pattern, bool caseless, struct jn_regex **out, char *err,
                     size_t errlen)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     caseless ? PCRE2_CASELESS : 0, &ec, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "invalid regular expression \"%s\": %s at offset %zu", pattern,
                 (const char *)msg, (size_t)off);
        return JN_ECONFIG;
    }
    /* JIT where the platform has it; the interpreter otherwise */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    struct jn_regex *re = jn_calloc(1, sizeof(*re));
    re->code = code;
    *out = re;
    return 0;
}

bool jn_regex_match(const struct jn_regex *re, const char *s, size_t n)
{
    if (!thread_md) {
        pthread_once(&md_once, md_key_make);
        thread_md = pcre2_match_data_create(1, NULL);
        if (!thread_md)
            abort(); /* once per thread, at its first match */
        pthread_setspecific(md_key, thread_md);
    }
    return pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, thread_md, NULL) >= 0;
}

void jn_regex_free(struct jn_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}
