/*
 * parse.h: HTTP/1.x message-head parsers and the chunked decoder (RFC 9112).
 *
 * Pure functions over (buf, len): no allocation, no I/O, no global state, so
 * they can be fuzzed, and any thread may call them concurrently. Parsed fields point into the caller's buffer, which must
 * outlive the result. Strict: anything ambiguous is rejected, never guessed.
 *
 * Return values (core/common.h vocabulary):
 *   > 0             length of the complete head, final CRLF CRLF included
 *   JN_EINCOMPLETE  the head is not complete yet; call again with more bytes
 *   JN_EBADINPUT    invalid; ->error_status and ->error_reason say why
 * A head longer than the limits fails with JN_EBADINPUT and status 414/431
 * (requests) as soon as that is known, even before it is complete.
 *
 * The head is scanned once, left to right, and every check is positional: a
 * prefix of the input yields JN_EINCOMPLETE or the same result as the whole.
 * The parsers keep no state between calls, so a caller re-parses from the
 * start; to keep a slow drip cheap, call again only when the new bytes hold
 * a '\n' (nothing can change in between, limits included).
 *
 * Decisions where RFC 9112 leaves a choice (all rejections are 400 for
 * requests and 502 for responses unless noted):
 *  - Bare LF as a line ending is rejected, never normalised: a proxy that
 *    accepts it forwards a message its backend may frame differently.
 *    Empty lines (CRLF) before a request line are skipped, as 2.2 allows.
 *  - Content-Length may appear once only; even identical repeats ("5, 5" or
 *    two fields) are rejected: simplest rule without an ambiguous case. Its
 *    value is 1*DIGIT below 2^63.
 *  - Transfer-Encoding: with Content-Length rejected (not "TE wins"); in
 *    HTTP/1.0 rejected; codings are chunked, gzip, x-gzip, deflate, compress,
 *    x-compress without parameters; others give 501 (requests). A request's
 *    last coding must be chunked, and chunked may appear only once. A
 *    response whose last coding is not chunked is close-delimited.
 *  - Whitespace before the colon, obs-fold, CTLs (HTAB excepted in values),
 *    DEL, NUL and bare CR anywhere in the head: rejected.
 *  - Request targets: origin-form, absolute-form (http/https, no userinfo;
 *    "http://h?q" without a path is rejected, as ->path must point into the
 *    buffer), authority-form for CONNECT only, "*" for OPTIONS only; '#' and
 *    CTLs/SP rejected, obs-text accepted.
 *  - Host: exactly one in HTTP/1.1 (at most one in 1.0), syntax uri-host
 *    [":" port]; an absolute-form target's authority must name the same host
 *    and port (a missing port is the scheme's default). Empty Host accepted.
 *  - Versions: HTTP/1.0 and HTTP/1.1; other well-formed "HTTP/d.d" -> 505,
 *    anything else -> 400. A status line may omit the SP before an empty
 *    reason phrase (common, unambiguous).
 */
#ifndef JN_HTTP_PARSE_H
#define JN_HTTP_PARSE_H

#include "core/common.h"
#include "http/chars.h"

#define JN_HTTP_MAX_HEADERS 128

struct jn_http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading/trailing OWS stripped */
    size_t value_len;
};

enum jn_http_method {
    JN_HTTP_OTHER = 0,
    JN_HTTP_GET,
    JN_HTTP_HEAD,
    JN_HTTP_POST,
    JN_HTTP_PUT,
    JN_HTTP_DELETE,
    JN_HTTP_OPTIONS,
    JN_HTTP_PATCH,
    JN_HTTP_CONNECT,
    JN_HTTP_TRACE,
};

/* Body framing derived from the headers (RFC 9112 section 6). */
enum jn_http_framing {
    JN_FRAMING_NONE = 0,   /* no body (requests without CL/TE; 1xx/204/304; HEAD responses) */
    JN_FRAMING_LENGTH,     /* Content-Length bytes */
    JN_FRAMING_CHUNKED,    /* Transfer-Encoding: chunked */
    JN_FRAMING_CLOSE,      /* responses only: until the connection closes */
};

struct jn_http_limits {
    size_t max_request_line; /* longer request line -> 414 */
    size_t max_head;         /* longer head (line + headers) -> 431 */
    size_t max_headers;      /* more header fields -> 431; <= JN_HTTP_MAX_HEADERS */
};

/* nginx-like defaults: 8 KiB request line, 32 KiB head, 100 headers. The
 * parsers take NULL limits to mean these. The request-line cap also bounds a
 * response's status line. */
extern const struct jn_http_limits jn_http_default_limits;

/* Flags from the Connection header and friends. */
#define JN_HTTP_CONN_CLOSE 0x1u
#define JN_HTTP_CONN_KEEPALIVE 0x2u
#define JN_HTTP_CONN_UPGRADE 0x4u
/* Connection names something else too (a header a proxy must drop), or is
 * not a list of tokens: only then do the names need reading again. */
#define JN_HTTP_CONN_OTHER 0x8u

struct jn_http_request {
    const char *method;
    size_t method_len;
    enum jn_http_method method_id;
    const char *target; /* as received */
    size_t target_len;
    const char *path; /* origin-form "/path?query"; for absolute-form the path part ("/" if empty); "*" for OPTIONS * */
    size_t path_len;
    int minor_version; /* HTTP/1.<minor>: 0 or 1 */

    /* Derived and validated: */
    const char *host; /* Host header value, or the authority of an absolute-form target */
    size_t host_len;
    enum jn_http_framing framing; /* NONE, LENGTH or CHUNKED */
    uint64_t content_length;      /* when framing == LENGTH */
    unsigned conn_flags;          /* JN_HTTP_CONN_* from Connection */
    bool keep_alive;              /* persistent after this exchange (version + Connection) */
    bool expect_continue;         /* Expect: 100-continue */
    bool upgrade;                 /* Upgrade header present and "upgrade" in Connection */

    int error_status;         /* on JN_EBADINPUT: 400, 414, 431, 501 or 505 */
    const char *error_reason; /* on JN_EBADINPUT: a short static text for the client */

    /* Last, so that a head of a few fields touches only the first page of
     * the record (a burst of new requests pays for every page it touches). */
    size_t nheaders;
    struct jn_http_header headers[JN_HTTP_MAX_HEADERS];
};

/* Parses a request head. See the file comment for return values. Any thread;
 * req is fully overwritten (headers only up to nheaders). */
ssize_t jn_http_parse_request(const char *buf, size_t len, const struct jn_http_limits *lim,
                              struct jn_http_request *req);

struct jn_http_response {
    int minor_version;
    int status; /* 100..999 */
    const char *reason;
    size_t reason_len;

    /* Derived, given the request method (RFC 9112 6.3): */
    enum jn_http_framing framing;
    uint64_t content_length;
    unsigned conn_flags;
    bool keep_alive;

    int error_status;         /* on JN_EBADINPUT: always 502 */
    const char *error_reason; /* on JN_EBADINPUT: why, for the error log */

    size_t nheaders; /* last, as in struct jn_http_request */
    struct jn_http_header headers[JN_HTTP_MAX_HEADERS];
};

/* Parses a response head to a request made with method req_method (HEAD and
 * CONNECT change the framing). Same return values; limits apply as 502. */
ssize_t jn_http_parse_response(const char *buf, size_t len, const struct jn_http_limits *lim,
                               enum jn_http_method req_method, struct jn_http_response *resp);

/* Finds a header by case-insensitive name; returns its index or -1. */
ssize_t jn_http_find_header(const struct jn_http_header *h, size_t n, const char *name,
                            size_t name_len);

/* Case-insensitive comparison of a (p, n) token with a NUL-terminated
 * lower-case literal. Inline, so that the literal's length is known where
 * it is called: a token of another length costs one comparison (this runs
 * for hop-by-hop and framing names on every header of every head). */
static inline bool jn_http_token_eq(const char *p, size_t n, const char *lower)
{
    if (n != __builtin_strlen(lower))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (jn_http_lower[(uint8_t)p[i]] != (uint8_t)lower[i])
            return false;
    }
    return true;
}

/*
 * Chunked transfer-coding decoder: incremental, zero-copy. Feed it the bytes
 * as they arrive; it reports payload spans that point into the input.
 */
/* Caps of the chunked decoder: bytes of one chunk-size line (extensions
 * included, CRLF excluded) and of the whole trailer section. */
#define JN_CHUNKED_MAX_LINE 4096
#define JN_CHUNKED_MAX_TRAILER 16384

struct jn_chunked {
    int state;
    uint64_t remaining; /* payload bytes left in the current chunk */
    size_t line_len;    /* bytes of the current size/trailer line, for the caps */
    size_t trailer_bytes;
    bool done; /* the last chunk and the trailer section are consumed */
};

static inline void jn_chunked_init(struct jn_chunked *d)
{
    memset(d, 0, sizeof(*d));
}

/* Consumes bytes from in[0..len). Trailer fields are validated and skipped.
 * Errors are sticky. Returns the count consumed (>= 0; 0 only
 * when len == 0 or d->done), or JN_EBADINPUT (bad size, bad CRLF, too long an
 * extension or trailer section). *data and *data_len receive the payload bytes
 * inside the consumed range, at most one span per call (*data_len 0 if none).
 * Call in a loop until all input is consumed or d->done. */
ssize_t jn_chunked_decode(struct jn_chunked *d, const char *in, size_t len, const char **data,
                          size_t *data_len);

#endif
