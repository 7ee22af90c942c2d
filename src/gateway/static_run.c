/*
 * static_run.c: answering with a file (static.h), as nginx's static, index
 * and try_files modules do for GET and HEAD:
 *   - the URI is percent-decoded and normalised (http/uri.h) before it is
 *     joined to the root, so nothing outside the root is reachable;
 *   - a directory without its trailing slash is redirected (301) to it; with
 *     it, the first index file there answers, else 403 (no listings);
 *   - try_files tries each URI in order ("$uri/" a directory), then answers
 *     =CODE or serves its last URI through the location that URI routes to;
 *   - Last-Modified and ETag as nginx writes them; If-None-Match and an
 *     exact If-Modified-Since answer 304.
 * The file is read in GW_RESP_BUF pieces as the client takes them
 * (gw_static_fill, called by the client's write loop). Reads are blocking
 * file I/O on the worker, as nginx's without aio. Worker thread.
 */
#include "gateway/static_run.h"

#include "gateway/date.h"
#include "gateway/freelist.h"
#include "gateway/local.h"
#include "gateway/proxy.h"
#include "http/uri.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file system path of uri under st: dir + uri (alias: minus the
 * location's prefix). Returns its length or -1 when it does not fit. */
static ssize_t fs_path(const struct jn_gw_static *st, const char *uri, size_t ul, char *out,
                       size_t cap)
{
    if (st->strip) {
        size_t k = JN_MIN(st->strip, ul);
        uri += k;
        ul -= k;
    }
    if (st->dir_len + ul + 1 > cap)
        return -1;
    memcpy(out, st->dir, st->dir_len);
    memcpy(out + st->dir_len, uri, ul);
    out[st->dir_len + ul] = '\0';
    return (ssize_t)(st->dir_len + ul);
}

/* Whether header name is there with the value v (or "*" when any is true). */
static bool header_is(const struct gw_req *r, const char *name, const char *v, size_t vl, bool any)
{
    const struct jn_http_request *h = &r->hreq;
    ssize_t i = jn_http_find_header(h->headers, h->nheaders, name, strlen(name));
    if (i < 0)
        return false;
    const struct jn_http_header *x = &h->headers[i];
    return (x->value_len == vl && memcmp(x->value, v, vl) == 0) ||
           (any && x->value_len == 1 && x->value[0] == '*');
}

/* Opens fs as a regular file for r: 0 and *fd, or the status to answer. */
static int open_file(const char *fs, int *fd, struct stat *sb)
{
    int f = open(fs, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0)
        return errno == EACCES ? 403 : errno == ENAMETOOLONG ? 414 : 404;
    if (fstat(f, sb) < 0 || !S_ISREG(sb->st_mode)) {
        close(f);
        return 404;
    }
    *fd = f;
    return 0;
}

/* Queues the head for the open file fd (its stat sb, its name for the
 * type) and hands the body to the write loop. */
static void answer_file(struct gw_req *r, const struct jn_gw_static *st, int fd,
                        const struct stat *sb, const char *name, size_t nl)
{
    char lm[GW_DATE_LEN + 1], etag[64];
    gw_date_format((int64_t)sb->st_mtime, lm); /* "Date: ...\r\n" */
    const char *lm_val = lm + 6;
    size_t lm_len = GW_DATE_LEN - 8;
    int el = snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb->st_mtime,
                      (unsigned long long)sb->st_size);
    bool not_modified = header_is(r, "if-none-match", etag, (size_t)el, true) ||
                        header_is(r, "if-modified-since", lm_val, lm_len, false);
    int status = not_modified ? 304 : 200;
    gw_local_begin(r, status);
    char *o = r->rscratch;
    size_t n = gw_local_head_start(r, status, gw_static_type(st, name, nl), o);
    n += (size_t)snprintf(o + n, 200, "Last-Modified: %.*s\r\nETag: %s\r\n", (int)lm_len, lm_val,
                          etag);
    n += gw_add_headers(r, status, o + n, 1024);
    uint64_t size = not_modified ? 0 : (uint64_t)sb->st_size;
    n += gw_local_head_end(r, status, (size_t)size, o + n);
    jn_pipe_push(&r->rs, o, n);
    r->head_bytes = n;
    bool body = !not_modified && r->hreq.method_id != JN_HTTP_HEAD && size > 0;
    r->body_bytes = body ? size : 0;
    if (!body) {
        close(fd);
        return;
    }
    r->file_fd = fd;
    r->file_open = true;
    r->file_off = 0;
    r->file_left = size;
}

/* Serves uri (normalised) from st: a file, or a directory's index. Returns
 * 0 when the answer is queued, else the status to answer with (301 sets
 * *redirect). */
static int serve_uri(struct gw_req *r, const struct jn_gw_static *st, const char *uri, size_t ul,
                     bool *redirect)
{
    char fs[PATH_MAX];
    ssize_t fl = fs_path(st, uri, ul, fs, sizeof(fs));
    if (fl < 0)
        return 414;
    struct stat sb;
    if (stat(fs, &sb) < 0)
        return errno == EACCES ? 403 : errno == ENAMETOOLONG ? 414 : 404;
    if (S_ISDIR(sb.st_mode)) {
        if (uri[ul - 1] != '/') {
            *redirect = true;
            return 301;
        }
        for (size_t i = 0; i < st->nindex; i++) {
            size_t il = strlen(st->index[i]);
            if ((size_t)fl + il + 1 > sizeof(fs))
                return 414;
            memcpy(fs + fl, st->index[i], il + 1);
            int fd;
            if (open_file(fs, &fd, &sb) == 0) {
                answer_file(r, st, fd, &sb, st->index[i], il);
                return 0;
            }
        }
        return 403; /* nginx: "directory index of ... is forbidden" */
    }
    int fd;
    int st_code = open_file(fs, &fd, &sb);
    if (st_code)
        return st_code;
    answer_file(r, st, fd, &sb, uri, ul);
    return 0;
}

/* try_files: the first URI that names a file (or, ending in '/', a
 * directory) answers. Returns 0 when one did (queued), -1 when none. */
static int try_each(struct gw_req *r, const struct jn_gw_static *st, int *status, bool *redirect)
{
    for (size_t i = 0; i < st->ntries; i++) {
        char raw[2048], uri[2048];
        ssize_t rl = gw_eval_template(r, &st->tries[i], raw, sizeof(raw));
        if (rl <= 0)
            continue;
        size_t ql = (size_t)rl;
        const char *q = memchr(raw, '?', ql);
        if (q)
            ql = (size_t)(q - raw); /* "$uri?$args": the file is the path */
        ssize_t ul = jn_uri_normalize(raw, ql, uri, sizeof(uri));
        if (ul < 0)
            continue;
        char fs[PATH_MAX];
        struct stat sb;
        if (fs_path(st, uri, (size_t)ul, fs, sizeof(fs)) < 0 || stat(fs, &sb) < 0)
            continue;
        bool want_dir = raw[ql - 1] == '/';
        if (want_dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode))
            continue;
        *status = serve_uri(r, st, uri, (size_t)ul, redirect);
        return 0;
    }
    return -1;
}

int gw_static_serve(struct gw_req *r)
{
    const struct jn_gw_location *loc = r->loc;
    const struct jn_gw_static *st = loc->st;
    enum jn_http_method m = r->hreq.method_id;
    if (m != JN_HTTP_GET && m != JN_HTTP_HEAD) {
        gw_exch_respond(r, 405, NULL, NULL);
        return 1;
    }
    const char *path = r->hreq.path;
    size_t pl = r->hreq.path_len;
    const char *q = memchr(path, '?', pl);
    size_t ql = q ? (size_t)(q - path) : pl;
    char uri[2048];
    ssize_t ul = jn_uri_normalize(path, ql, uri, sizeof(uri));
    if (ul < 0) {
        gw_exch_respond(r, 400,
                        "the path is not valid for a file (bad escape, or above "
                        "the root)",
                        NULL);
        return 1;
    }
    int status = 0;
    bool redirect = false;
    if (st->tries || st->try_code || st->try_uri) {
        if (try_each(r, st, &status, &redirect) < 0) {
            if (st->try_code) {
                status = st->try_code;
            } else {
                /* the last URI, through the location it routes to (one hop) */
                const struct jn_gw_app *app;
                size_t tl = strlen(st->try_uri);
                const struct jn_gw_location *to = jn_gw_route(
                    r->snap, r->listen, r->hreq.host, r->hreq.host_len, st->try_uri, tl, &app);
                if (!to || !to->st) {
                    gw_exch_respond(r, 500,
                                    "try_files falls back to a URI that no static "
                                    "location serves (jern does no internal redirect "
                                    "to proxy_pass or return)",
                                    NULL);
                    return 1;
                }
                r->loc = to;
                status = serve_uri(r, to->st, st->try_uri, tl, &redirect);
            }
        }
    } else {
        status = serve_uri(r, st, uri, (size_t)ul, &redirect);
    }
    if (status == 0)
        return 0;
    if (redirect) {
        char loc_url[2100];
        int k = snprintf(loc_url, sizeof(loc_url), "%.*s/%s%.*s", (int)ul, uri, q ? "?" : "",
                         q ? (int)(pl - ql - 1) : 0, q ? q + 1 : "");
        char abs[2400];
        ssize_t al = k > 0 && (size_t)k < sizeof(loc_url)
                         ? gw_absolute_location(r, loc_url, (size_t)k, abs, sizeof(abs))
                         : -1;
        gw_exch_respond(r, al < 0 ? 414 : 301, NULL, al < 0 ? NULL : abs);
        return 1;
    }
    gw_exch_respond(r, status, NULL, NULL);
    return 1;
}

int gw_static_fill(struct gw_req *r)
{
    if (!r->file_open)
        return 0;
    if (r->file_left == 0) {
        gw_static_close(r);
        return 0;
    }
    if (!r->rbuf) {
        r->rbuf = gw_rbuf_get(r->c->w);
        r->rcap = GW_RESP_BUF;
    }
    size_t want = (size_t)JN_MIN(r->file_left, (uint64_t)r->rcap);
    ssize_t k = pread(r->file_fd, r->rbuf, want, (off_t)r->file_off);
    if (k <= 0) {
        /* shorter than its Content-Length said (truncated meanwhile): the
         * client must see the connection end */
        gw_static_close(r);
        return -1;
    }
    r->file_off += (uint64_t)k;
    r->file_left -= (uint64_t)k;
    jn_pipe_clear(&r->rs);
    jn_pipe_push(&r->rs, r->rbuf, (size_t)k);
    return 1;
}

void gw_static_close(struct gw_req *r)
{
    if (r->file_open)
        close(r->file_fd);
    r->file_open = false;
    r->file_left = 0;
}
