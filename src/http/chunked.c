/*
 * chunked.c: the chunked transfer-coding decoder (RFC 9112 7.1), incremental
 * and zero-copy.
 *
 * A byte-at-a-time state machine for the short framing lines, and one span per
 * call for the payload, which is never copied. Strict where the smuggling
 * attacks live: chunk sizes are 1 to 16 hex digits and nothing else (no "0x",
 * sign, underscore or trailing space), extensions follow the token /
 * quoted-string grammar and are capped per line, every line ends in CRLF
 * (bare LF and bare CR are errors), and the trailer section is capped.
 * Errors are sticky: once JN_EBADINPUT, always JN_EBADINPUT.
 */
#include "http/parse.h"

#include "http/chars.h"

enum {
    C_SIZE_FIRST = 0, /* must be initial: jn_chunked_init zeroes the state */
    C_SIZE,
    C_EXT_BWS,       /* after the size: BWS, then ';' or CR */
    C_EXT_NAME_BWS,  /* after ';': BWS, then a name */
    C_EXT_NAME,      /* in an extension name */
    C_EXT_NAME_END,  /* BWS after a name: '=', ';' or CR */
    C_EXT_VAL_BWS,   /* after '=': BWS, then a token or quoted-string */
    C_EXT_VAL_TOKEN, /* in a token value */
    C_EXT_VAL_QUOTED,
    C_EXT_VAL_ESCAPE, /* after a backslash in a quoted-string */
    C_EXT_VAL_END,    /* after a value: BWS, then ';' or CR */
    C_SIZE_LF,
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER_START, /* a trailer field line or the final CRLF */
    C_TRAILER_NAME,
    C_TRAILER_VALUE,
    C_TRAILER_LF,
    C_FINAL_LF,
    C_DONE,
    C_ERROR,
};

static ssize_t fail(struct jn_chunked *d)
{
    d->state = C_ERROR;
    return JN_EBADINPUT;
}

static bool is_bws(char c)
{
    return c == ' ' || c == '\t';
}

/* qdtext / quoted-pair characters (RFC 9110 5.6.4): HTAB, SP, VCHAR, obs-text. */
static bool is_qchar(uint8_t c)
{
    return jn_http_vchar[c] != 0;
}

ssize_t jn_chunked_decode(struct jn_chunked *d, const char *in, size_t len, const char **data,
                          size_t *data_len)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    if (d->state == C_ERROR)
        return JN_EBADINPUT;

    while (i < len) {
        if (d->state == C_DATA) {
            size_t n = (size_t)JN_MIN(d->remaining, (uint64_t)(len - i));
            *data = in + i;
            *data_len = n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = C_DATA_CR;
            return (ssize_t)(i + n);
        }
        if (d->state == C_DONE)
            break;

        uint8_t c = (uint8_t)in[i++];
        /* Caps: the trailer section counts every byte, a size line all but its CRLF. */
        if (d->state >= C_TRAILER_START) {
            if (++d->trailer_bytes > JN_CHUNKED_MAX_TRAILER)
                return fail(d);
        } else if (d->state < C_SIZE_LF && c != '\r') {
            if (++d->line_len > JN_CHUNKED_MAX_LINE)
                return fail(d);
        }

        switch (d->state) {
        case C_SIZE_FIRST:
            if (!jn_http_hexval[c])
                return fail(d);
            d->remaining = jn_http_hexval[c] - 1u;
            d->state = C_SIZE;
            break;
        case C_SIZE:
            if (jn_http_hexval[c]) {
                /* line_len counts the digits so far, this one included. */
                if (d->line_len > 16)
                    return fail(d);
                d->remaining = (d->remaining << 4) | (jn_http_hexval[c] - 1u);
            } else if (c == '\r') {
                d->state = C_SIZE_LF;
            } else if (c == ';') {
                d->state = C_EXT_NAME_BWS;
            } else if (is_bws((char)c)) {
                d->state = C_EXT_BWS;
            } else {
                return fail(d);
            }
            break;
        case C_EXT_BWS:
            if (c == ';')
                d->state = C_EXT_NAME_BWS;
            else if (!is_bws((char)c))
                return fail(d); /* including CR: whitespace must lead to an extension */
            break;
        case C_EXT_NAME_BWS:
            if (jn_http_tchar[c])
                d->state = C_EXT_NAME;
            else if (!is_bws((char)c))
                return fail(d);
            break;
        case C_EXT_NAME:
        case C_EXT_NAME_END:
            if (jn_http_tchar[c] && d->state == C_EXT_NAME)
                break;
            if (c == '=')
                d->state = C_EXT_VAL_BWS;
            else if (c == ';')
                d->state = C_EXT_NAME_BWS;
            else if (c == '\r')
                d->state = C_SIZE_LF;
            else if (is_bws((char)c))
                d->state = C_EXT_NAME_END;
            else
                return fail(d);
            break;
        case C_EXT_VAL_BWS:
            if (c == '"')
                d->state = C_EXT_VAL_QUOTED;
            else if (jn_http_tchar[c])
                d->state = C_EXT_VAL_TOKEN;
            else if (!is_bws((char)c))
                return fail(d);
            break;
        case C_EXT_VAL_TOKEN:
        case C_EXT_VAL_END:
            if (jn_http_tchar[c] && d->state == C_EXT_VAL_TOKEN)
                break;
            if (c == ';')
                d->state = C_EXT_NAME_BWS;
            else if (c == '\r')
                d->state = C_SIZE_LF;
            else if (is_bws((char)c))
                d->state = C_EXT_VAL_END;
            else
                return fail(d);
            break;
        case C_EXT_VAL_QUOTED:
            if (c == '"')
                d->state = C_EXT_VAL_END;
            else if (c == '\\')
                d->state = C_EXT_VAL_ESCAPE;
            else if (!is_qchar(c))
                return fail(d);
            break;
        case C_EXT_VAL_ESCAPE:
            if (!is_qchar(c))
                return fail(d);
            d->state = C_EXT_VAL_QUOTED;
            break;
        case C_SIZE_LF:
            if (c != '\n')
                return fail(d);
            d->line_len = 0;
            d->state = d->remaining ? C_DATA : C_TRAILER_START;
            break;
        case C_DATA_CR:
            if (c != '\r')
                return fail(d);
            d->state = C_DATA_LF;
            break;
        case C_DATA_LF:
            if (c != '\n')
                return fail(d);
            d->state = C_SIZE_FIRST;
            break;
        case C_TRAILER_START:
            if (c == '\r')
                d->state = C_FINAL_LF;
            else if (jn_http_tchar[c])
                d->state = C_TRAILER_NAME;
            else
                return fail(d); /* bare LF, obs-fold, or no name */
            break;
        case C_TRAILER_NAME:
            if (c == ':')
                d->state = C_TRAILER_VALUE;
            else if (!jn_http_tchar[c])
                return fail(d);
            break;
        case C_TRAILER_VALUE:
            if (c == '\r')
                d->state = C_TRAILER_LF;
            else if (!jn_http_vchar[c])
                return fail(d);
            break;
        case C_TRAILER_LF:
            if (c != '\n')
                return fail(d);
            d->state = C_TRAILER_START;
            break;
        case C_FINAL_LF:
            if (c != '\n')
                return fail(d);
            d->state = C_DONE;
            d->done = true;
            break;
        default:
            return fail(d);
        }
    }
    return (ssize_t)i;
}
