/*
 * rules.c: names, secrets by default, masking, and an instance's environment
 * (rules.h).
 */
#include "core/common.h"

#include "control/appconfig/rules.h"
#include "control/appconfig/secret.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <strings.h>

bool jn_appconfig_name_ok(const char *k)
{
    if (!*k || !(isalpha((unsigned char)*k) || *k == '_') || strlen(k) > JN_CONFIG_NAME_MAX)
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_')
            return false;
    return true;
}

bool jn_appconfig_secret_name(const char *name)
{
    static const char *const words[] = {"PASSWORD", "TOKEN", "KEY", "SECRET"};
    size_t n = strlen(name);
    if (strcasecmp(name, "DATABASE_URL") == 0)
        return true;
    for (size_t i = 0; i < JN_ARRAY_LEN(words); i++) {
        size_t w = strlen(words[i]);
        if (n == w && strcasecmp(name, words[i]) == 0)
            return true;
        if (n > w && name[n - w - 1] == '_' && strcasecmp(name + n - w, words[i]) == 0)
            return true;
    }
    return false;
}

const char *jn_appconfig_shown(const char *value)
{
    return jn_secret_is_sealed(value) ? JN_SECRET_MASK : value;
}

void jn_appconfig_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++) {
        explicit_bzero(env[i], strlen(env[i]));
        free(env[i]);
    }
    free(env);
}

/* Puts name=value in env (replacing an earlier name=). */
static void env_put(char **env, size_t *n, const char *name, const char *value)
{
    size_t nl = strlen(name), len = nl + strlen(value) + 2;
    char *s = jn_malloc(len);
    snprintf(s, len, "%s=%s", name, value);
    for (size_t i = 0; i < *n; i++) {
        if (strncmp(env[i], name, nl) == 0 && env[i][nl] == '=') {
            explicit_bzero(env[i], strlen(env[i]));
            free(env[i]);
            env[i] = s;
            return;
        }
    }
    env[(*n)++] = s;
}

int jn_appconfig_env(const char *state_dir, const char *config_json, const char *env_json,
                     char ***out, char *msg, size_t msglen)
{
    *out = NULL;
    cJSON *parts[2] = {NULL, NULL};
    const char *src[2] = {config_json, env_json};
    size_t cap = 1;
    for (int p = 0; p < 2; p++) {
        if (!src[p] || !*src[p])
            continue;
        parts[p] = cJSON_Parse(src[p]);
        if (!cJSON_IsObject(parts[p])) {
            cJSON_Delete(parts[0]);
            cJSON_Delete(parts[1]);
            snprintf(msg, msglen, "the stored environment does not parse");
            return JN_EBADINPUT;
        }
        cap += (size_t)cJSON_GetArraySize(parts[p]);
    }
    char **env = jn_calloc(cap, sizeof(char *));
    size_t n = 0;
    unsigned char key[JN_SECRET_KEY_LEN];
    bool have_key = false;
    int r = 0;
    for (int p = 0; p < 2 && r == 0; p++) {
        for (cJSON *e = parts[p] ? parts[p]->child : NULL; e && r == 0; e = e->next) {
            if (!cJSON_IsString(e))
                continue;
            if (!jn_secret_is_sealed(e->valuestring)) {
                env_put(env, &n, e->string, e->valuestring);
                continue;
            }
            if (!have_key && (r = jn_secret_key(state_dir, false, key, msg, msglen)) < 0)
                break;
            have_key = true;
            char *plain;
            if ((r = jn_secret_open(key, e->string, e->valuestring, &plain)) < 0) {
                snprintf(msg, msglen,
                         "secret %s does not open with %s/" JN_SECRET_KEY_FILE
                         " (the key was replaced?): set it again with jern config set --secret",
                         e->string, state_dir);
                break;
            }
            env_put(env, &n, e->string, plain);
            explicit_bzero(plain, strlen(plain));
            free(plain);
        }
    }
    explicit_bzero(key, sizeof(key));
    cJSON_Delete(parts[0]);
    cJSON_Delete(parts[1]);
    if (r < 0) {
        jn_appconfig_env_free(env);
        return r;
    }
    *out = env;
    return 0;
}

char *jn_appconfig_mask_text(const char *text, size_t len, const char *const *secrets, size_t n)
{
    size_t cap = len + 1, o = 0;
    char *out = jn_malloc(cap);
    size_t mlen = strlen(JN_SECRET_MASK);
    for (size_t i = 0; i < len;) {
        size_t best = 0;
        for (size_t k = 0; k < n; k++) {
            size_t sl = strlen(secrets[k]);
            if (sl >= JN_SECRET_MASK_MIN && sl > best && sl <= len - i &&
                memcmp(text + i, secrets[k], sl) == 0)
                best = sl;
        }
        size_t add = best ? mlen : 1;
        if (o + add + 1 > cap) {
            cap = (o + add + 1) * 2;
            out = jn_realloc(out, cap);
        }
        if (best) {
            memcpy(out + o, JN_SECRET_MASK, mlen);
            i += best;
        } else {
            out[o] = text[i++];
        }
        o += add;
    }
    out[o] = '\0';
    return out;
}

size_t jn_appconfig_secret_values(const char *state_dir, const char *config_json, char ***out)
{
    *out = NULL;
    cJSON *cfg = cJSON_Parse(config_json ? config_json : "");
    size_t n = 0, cap = (size_t)cJSON_GetArraySize(cfg) + 1;
    char **v = jn_calloc(cap, sizeof(char *));
    unsigned char key[JN_SECRET_KEY_LEN];
    char msg[256];
    bool have_key = false;
    for (cJSON *e = cfg ? cfg->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e) || !jn_secret_is_sealed(e->valuestring))
            continue;
        if (!have_key && jn_secret_key(state_dir, false, key, msg, sizeof(msg)) < 0)
            break;
        have_key = true;
        char *plain;
        if (jn_secret_open(key, e->string, e->valuestring, &plain) == 0)
            v[n++] = plain;
    }
    explicit_bzero(key, sizeof(key));
    cJSON_Delete(cfg);
    if (n == 0) {
        free(v);
        return 0;
    }
    *out = v;
    return n;
}
