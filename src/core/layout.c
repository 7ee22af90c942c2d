/*
 * layout.c: the installed and the local file-system layout (layout.h).
 */
#include "core/common.h"

#include "core/layout.h"

#include <stdio.h>
#include <unistd.h>

const char *jn_layout_path(const char *path, char *buf, size_t len)
{
    const char *root = getenv("JERN_SYSROOT");
    if (!root)
        root = "";
    size_t r = strlen(root);
    while (r > 0 && root[r - 1] == '/')
        r--;
    if ((size_t)snprintf(buf, len, "%.*s%s", (int)r, root, path) >= len)
        buf[0] = '\0';
    return buf;
}

bool jn_layout_installed(void)
{
    char conf[4096];
    if (*jn_layout_path(JN_LAYOUT_CONF, conf, sizeof(conf)) && access(conf, F_OK) == 0)
        return true;
    /* Under a stand-in root the binary's own place says nothing. */
    if (getenv("JERN_SYSROOT"))
        return false;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    return strncmp(exe, "/usr/", 5) == 0;
}
