/*
 * jsonbody.c: JSON request bodies without hidden control characters (see
 * jsonbody.h).
 */
#include "core/common.h"

#include "control/api/jsonbody.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>

struct cJSON *jn_jsonbody_parse(const char *body, size_t len, size_t *end)
{
    char *copy = jn_malloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    /* Rewrite each NUL inside a string (raw, or \u0000) into U+0001: same
     * length, so offsets hold, and the string keeps its whole length. Outside
     * strings only JSON's own whitespace may be a control character (cJSON
     * would skip any byte up to 0x20). */
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = copy[i];
        if (!in_str) {
            if ((unsigned char)c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                free(copy);
                *end = i;
                return NULL;
            }
            in_str = c == '"';
        } else if (c == '\0') {
            copy[i] = '\x01';
        } else if (c == '"') {
            in_str = false;
        } else if (c == '\\' && i + 1 < len) {
            if (copy[i + 1] == 'u') {
                /* cJSON reads a bad \uXXXX as U+0000, which would cut the string */
                bool hex = i + 5 < len;
                for (size_t k = i + 2; hex && k < i + 6; k++)
                    hex = isxdigit((unsigned char)copy[k]);
                if (!hex) {
                    free(copy);
                    *end = i;
                    return NULL;
                }
                if (memcmp(copy + i + 2, "0000", 4) == 0)
                    copy[i + 5] = '1';
            }
            i++; /* the escaped character: in \\u0000 the backslash is escaped */
        }
    }
    const char *stop = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(copy, len, &stop, false);
    *end = stop && stop >= copy ? (size_t)(stop - copy) : 0;
    free(copy);
    return o;
}

static bool clean(const char *s, bool free_text)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 || c == 0x7f) && !(free_text && (c == '\t' || c == '\n' || c == '\r')))
            return false;
    }
    return true;
}

static bool walk(const cJSON *o, bool free_text, char *path, size_t len, size_t cap)
{
    size_t i = 0;
    for (const cJSON *e = o->child; e; e = e->next, i++) {
        size_t n;
        if (cJSON_IsObject(o)) {
            if (!clean(e->string, false)) {
                snprintf(path + len, cap - len, "%s(a field name)", len ? "." : "");
                return false;
            }
            n = (size_t)snprintf(path + len, cap - len, "%s%s", len ? "." : "", e->string);
        } else {
            n = (size_t)snprintf(path + len, cap - len, "[%zu]", i);
        }
        size_t sub = len + n < cap ? len + n : cap - 1;
        if (cJSON_IsString(e) && !clean(e->valuestring, free_text))
            return false;
        bool env =
            len == 0 && cJSON_IsObject(o) && cJSON_IsObject(e) && strcmp(e->string, "env") == 0;
        if ((cJSON_IsObject(e) || cJSON_IsArray(e)) && !walk(e, env, path, sub, cap))
            return false;
        path[len] = '\0';
    }
    return true;
}

bool jn_jsonbody_check(const struct cJSON *root, char *field, size_t fieldlen)
{
    if (fieldlen == 0)
        return false;
    field[0] = '\0';
    if (cJSON_IsString(root))
        return clean(root->valuestring, false);
    if (!cJSON_IsObject(root) && !cJSON_IsArray(root))
        return true;
    return walk(root, false, field, 0, fieldlen);
}
