/*
 * owner.c: refusing a listen address another process holds (owner.h). A
 * probe socket without SO_REUSEPORT (with SO_REUSEADDR, so that connections
 * in TIME_WAIT do not count) fails to bind exactly when someone listens
 * there; the listener's pid comes from /proc/net/tcp{,6} (its inode) and the
 * processes' descriptors.
 */
#include "core/common.h"

#include "net/owner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>

#define MAX_INODES 64

/* Inodes of the sockets listening on port (state 0A) in one /proc table. */
static size_t listen_inodes(const char *table, int port, unsigned long *inodes, size_t n)
{
    FILE *f = fopen(table, "re");
    if (!f)
        return n;
    char line[512];
    while (n < MAX_INODES && fgets(line, sizeof(line), f)) {
        char local[128];
        unsigned st;
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*d %*d %lu", local, &st, &inode) != 3)
            continue;
        const char *colon = strrchr(local, ':');
        if (st == 0x0A && colon && (int)strtol(colon + 1, NULL, 16) == port)
            inodes[n++] = inode;
    }
    fclose(f);
    return n;
}

/* The pid of a process with one of the sockets open, or 0. */
static int socket_pid(const unsigned long *inodes, size_t n)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(proc))) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
        DIR *fds = opendir(dir);
        if (!fds)
            continue;
        struct dirent *fe;
        while (!found && (fe = readdir(fds))) {
            char path[320], link[64];
            snprintf(path, sizeof(path), "%s/%s", dir, fe->d_name);
            ssize_t l = readlink(path, link, sizeof(link) - 1);
            unsigned long inode;
            if (l <= 0)
                continue;
            link[l] = '\0';
            if (sscanf(link, "socket:[%lu]", &inode) != 1)
                continue;
            for (size_t i = 0; i < n && !found; i++)
                found = inodes[i] == inode ? pid : 0;
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

int jn_sock_check_free(const struct jn_addr *a, char *err, size_t errlen)
{
    int family = a->ss.ss_family;
    if (family != AF_INET && family != AF_INET6)
        return 0;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* the real listen reports it */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    int r = bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ? -errno : 0;
    close(fd);
    if (r != -EADDRINUSE)
        return 0;
    int port = ntohs(family == AF_INET6 ? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
                                        : ((const struct sockaddr_in *)&a->ss)->sin_port);
    unsigned long inodes[MAX_INODES];
    size_t n = listen_inodes("/proc/net/tcp", port, inodes, 0);
    n = listen_inodes("/proc/net/tcp6", port, inodes, n);
    int pid = socket_pid(inodes, n);
    if (pid == (int)getpid())
        return 0;
    char text[128], comm[64] = "";
    jn_addr_format(a, text, sizeof(text));
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    FILE *f = pid > 0 ? fopen(path, "re") : NULL;
    if (f) {
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    if (pid > 0 && strcmp(comm, "jern") == 0)
        snprintf(err, errlen,
                 "address %s already in use by another jern (pid %d): stop it, or listen on "
                 "another address",
                 text, pid);
    else if (pid > 0)
        snprintf(err, errlen, "address %s already in use by pid %d (%s)", text, pid, comm);
    else
        snprintf(err, errlen, "address %s already in use by another process", text);
    return -EADDRINUSE;
}
