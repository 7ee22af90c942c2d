/*
 * chars.h: character classes of RFC 9110/9112 as 256-entry lookup tables,
 * shared by the head parser and the chunked decoder (internal to src/http,
 * but for jn_http_lower, which parse.h's inline jn_http_token_eq reads).
 *
 * One table per class keeps each scan a single load and compare per byte.
 * Read-only after compile time: any thread.
 */
#ifndef JN_HTTP_CHARS_H
#define JN_HTTP_CHARS_H

#include "core/common.h"

/* tchar (RFC 9110 5.6.2): the characters of a token (methods, field names, codings). */
extern const uint8_t jn_http_tchar[256];
/* field-vchar / obs-text plus SP and HTAB: what a field value may contain. */
extern const uint8_t jn_http_vchar[256];
/* Hexadecimal digit value plus one (0 = not a hex digit). */
extern const uint8_t jn_http_hexval[256];
/* ASCII lower-case mapping. */
extern const uint8_t jn_http_lower[256];

#endif
