/*
 * names.h: validation of the names users give the control plane (apps,
 * domains, server addresses, server states). Pure functions; any thread.
 * On failure each writes a message for the user into err that names the
 * value and says what a valid one looks like.
 */
#ifndef JN_CONTROL_NAMES_H
#define JN_CONTROL_NAMES_H

#include "core/common.h"

/* App names become DNS labels (APP.localhost): 1-63 of [a-z0-9-], starting
 * with a letter, not ending with '-'. Returns 0 or JN_EBADINPUT. */
int jn_name_app_check(const char *name, char *err, size_t errlen);

/* Normalises a domain (lower-case, no trailing dot) into out (size outlen)
 * and checks it: labels of [a-z0-9-], 1-63 each, at most 253 in all, at
 * least two labels, no port, no wildcard. Returns 0 or JN_EBADINPUT. */
int jn_name_domain_norm(const char *domain, char *out, size_t outlen, char *err, size_t errlen);

/* Normalises a server address ("127.0.0.1:9000", "[::1]:9000",
 * "localhost:9000"; port required) into the canonical text jern stores and
 * shows ("127.0.0.1:9000"). Returns 0 or JN_EBADINPUT. */
int jn_name_addr_norm(const char *addr, char *out, size_t outlen, char *err, size_t errlen);

/* Server states as the API spells them. */
#define JN_STATE_NAMES "ready, drain or maint"

/* Returns the enum jn_peer_state value of "ready", "drain" or "maint", or -1. */
int jn_name_state_parse(const char *s);

/* The name of a state value ("ready", "drain", "maint"), or "unknown". */
const char *jn_name_state(int state);

#endif
