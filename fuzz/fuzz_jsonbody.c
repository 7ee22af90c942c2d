/*
 * fuzz_jsonbody.c: admin request bodies (control/jsonbody.c). Parses the
 * input and checks its strings; a raw NUL inside the parsed value is never
 * accepted (it would cut a string short), and the reported field path is a
 * terminated string inside its buffer.
 */
#include "fuzz/check.h"

#include "control/api/jsonbody.h"

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = fuzz_copy(data, size);
    size_t end = 0;
    cJSON *o = jn_jsonbody_parse(p, size, &end);
    FUZZ_CHECK(end <= size);
    if (o) {
        char field[32];
        memset(field, 'x', sizeof(field));
        bool ok = jn_jsonbody_check(o, field, sizeof(field));
        FUZZ_CHECK(memchr(field, '\0', sizeof(field)) != NULL);
        FUZZ_CHECK(!(ok && memchr(p, '\0', end)));
        cJSON_Delete(o);
    }
    free(p);
    return 0;
}
