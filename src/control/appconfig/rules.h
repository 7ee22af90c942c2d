/*
 * rules.h: an app's config (its environment variables) as jern keeps it: which
 * names are valid, which are secret by default, how a secret is shown, and
 * the environment an instance gets. Pure functions but jn_appconfig_env,
 * which reads the secret key. Any thread.
 *
 * A config is a JSON object NAME -> value, where the value of a secret is
 * sealed (secret.h): the release snapshots it (releases.config), --env of a
 * deploy adds overrides for that release only (releases.env).
 */
#ifndef JN_CONTROL_APPCONFIG_RULES_H
#define JN_CONTROL_APPCONFIG_RULES_H

#include "core/common.h"

#define JN_CONFIG_NAME_MAX 128    /* characters of a variable's name */
#define JN_CONFIG_VALUE_MAX 32768 /* bytes of a value */
#define JN_CONFIG_VARS_MAX 256    /* variables of an app */
#define JN_SECRET_MASK "*****"    /* what listings show instead of a secret */

/* True for a valid variable name: letters, digits and _, not starting with a
 * digit, at most JN_CONFIG_NAME_MAX characters. */
bool jn_appconfig_name_ok(const char *name);

/* True when name is secret without being marked so: it ends in _PASSWORD,
 * _TOKEN, _KEY or _SECRET (or is one of those words), or is DATABASE_URL.
 * Case-insensitive. */
bool jn_appconfig_secret_name(const char *name);

/* What a listing shows for value: JN_SECRET_MASK for a sealed one, else
 * value itself. */
const char *jn_appconfig_shown(const char *value);

/* Secrets shorter than this are not masked in output: they would mask
 * everyday words and say what they are. */
#define JN_SECRET_MASK_MIN 4

/* text (len bytes) with every occurrence of a value of secrets[0..n) (those of
 * at least JN_SECRET_MASK_MIN bytes) replaced by JN_SECRET_MASK: a new string
 * (caller frees). Longer secrets first, so one inside another is not left
 * half shown. */
char *jn_appconfig_mask_text(const char *text, size_t len, const char *const *secrets, size_t n);

/* The opened secret values of config_json (STATE/secret.key), for masking:
 * returns the count and *out (free with jn_appconfig_env_free), or 0 when
 * there are none or they cannot be opened. */
size_t jn_appconfig_secret_values(const char *state_dir, const char *config_json, char ***out);

/* The environment of an instance: the variables of config_json, then those
 * of env_json over them (either may be NULL or ""), sealed values opened with
 * STATE/secret.key. Returns 0 and *out ("NAME=value", NULL-terminated; free
 * with jn_appconfig_env_free), or a negative code with msg. */
int jn_appconfig_env(const char *state_dir, const char *config_json, const char *env_json,
                     char ***out, char *msg, size_t msglen);
void jn_appconfig_env_free(char **env);

#endif
