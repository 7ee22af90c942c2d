/*
 * uri.h: a request path as a file path under a document root (static
 * files): percent-decoded and normalised as nginx does for $uri. Pure.
 */
#ifndef JN_HTTP_URI_H
#define JN_HTTP_URI_H

#include "core/common.h"

/* Decodes %XX in path[0..n) (no query), merges repeated slashes and
 * resolves "." and ".." segments, into out[0..cap). The result starts with
 * '/' and keeps a trailing slash. Returns its length, or -1 when the path
 * does not start with '/', has a bad or NUL escape, climbs above the root,
 * or does not fit. */
ssize_t jn_uri_normalize(const char *path, size_t n, char *out, size_t cap);

#endif
