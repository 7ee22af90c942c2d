/* docker_doc.h: the Engine API's documents (docker_doc.c), for docker.c. */
#ifndef JN_RUNTIME_DOCKER_DOC_H
#define JN_RUNTIME_DOCKER_DOC_H

#include "core/buf.h"
#include "runtime/driver.h"

#include <curl/curl.h>

struct cJSON;

#define JN_DK_LINE_MAX (1u << 20) /* one line of a pull's or a build's stream */

/* True for a plausible image reference: [a-zA-Z0-9._/:@-], 1..255 bytes. */
bool jn_dk_image_ref_ok(const char *s);

/* base64url with padding of in[0..len) into out (4 * ((len + 2) / 3) + 1 bytes). */
void jn_dk_base64url(const unsigned char *in, size_t len, char *out);

/* Fills out from a GET /containers/ID/json answer. */
void jn_dk_parse_inspect(struct cJSON *j, struct jn_instance *out);

/* A POST /build answer as it streams: JSON lines of {"stream"}, {"error"},
 * {"aux": {"ID"}}; each text line goes to b->progress. */
struct jn_dk_build_state {
    const struct jn_build_spec *b;
    struct jn_buf line, text;
    char error[400];
    char id[160]; /* aux.ID */
    CURL *curl;
    struct jn_buf errbody;
};

/* curl write callback over a jn_dk_build_state (arg). */
size_t jn_dk_build_write(char *p, size_t size, size_t n, void *arg);

/* One JSON line of the stream. */
void jn_dk_build_line(struct jn_dk_build_state *bs, const char *s);

/* Text of a "stream" item; flush: hand over a last partial line too. */
void jn_dk_build_text(struct jn_dk_build_state *bs, const char *s, bool flush);

#endif
