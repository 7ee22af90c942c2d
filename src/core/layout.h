/*
 * layout.h: where jern keeps its files. Two layouts:
 *
 *   installed  config /etc/jern/jern.conf, state /var/lib/jern, admin socket
 *              /run/jern/admin.sock (group jern may use it)
 *   local      state ./jern-state, admin socket ./jern-state/admin.sock
 *              (make demo, tests, a checkout)
 *
 * jern runs installed when /etc/jern/jern.conf exists or its own binary lies
 * under /usr/ (a package or `make install`). $JERN_SYSROOT, when set, stands
 * in for / in the system paths, so that tests exercise the installed layout in
 * a temporary directory without touching the machine. Explicit settings
 * (`-c`, state_dir, admin, $JERN_STATE, $JERN_ADMIN, --admin) always win.
 * Any thread; reads the environment and the file system.
 */
#ifndef JN_CORE_LAYOUT_H
#define JN_CORE_LAYOUT_H

#include "core/common.h"

#define JN_LAYOUT_CONF "/etc/jern/jern.conf"
#define JN_LAYOUT_STATE "/var/lib/jern"
#define JN_LAYOUT_ADMIN "/run/jern/admin.sock"
#define JN_LAYOUT_GROUP "jern" /* may use the admin socket when installed */

/* Writes $JERN_SYSROOT + path (path one of the JN_LAYOUT_* above) into buf
 * and returns buf ("" when it does not fit). */
const char *jn_layout_path(const char *path, char *buf, size_t len);

/* True when jern runs installed (see above). */
bool jn_layout_installed(void);

#endif
