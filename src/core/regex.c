#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

struct jn_regex {
    pcre2_code *code;
};

/* One match block per thread, room for $0..$9 (rewrite's captures), freed
 * when the thread ends. */
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

static pcre2_match_data *match_data(void)
{
    if (!thread_md) {
        pthread_once(&md_once, md_key_make);
        thread_md = pcre2_match_data_create(JN_REGEX_MAX_GROUPS, NULL);
        if (!thread_md)
            abort(); /* once per thread, at its first match */
        pthread_setspecific(md_key, thread_md);
    }
    return thread_md;
}

bool jn_regex_match(const struct jn_regex *re, const char *s, size_t n)
{
    return pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, match_data(), NULL) >= 0;
}

int jn_regex_exec(const struct jn_regex *re, const char *s, size_t n, size_t *ovec)
{
    pcre2_match_data *md = match_data();
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    if (rc < 0)
        return 0;
    if (rc == 0) /* more groups than room: those that fit are set */
        rc = JN_REGEX_MAX_GROUPS;
    const PCRE2_SIZE *v = pcre2_get_ovector_pointer(md);
    for (int i = 0; i < 2 * rc; i++)
        ovec[i] = v[i] == PCRE2_UNSET ? (size_t)-1 : (size_t)v[i];
    return rc;
}

void jn_regex_free(struct jn_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}
