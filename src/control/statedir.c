/*
 * statedir.c: the state directory's modes and its one-daemon lock (statedir.h).
 */
#include "core/common.h"

#include "control/statedir.h"
#include "core/log.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int loose; /* entries tightened by the walk (nftw has no argument) */

static int tighten(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    /* Sockets and links: their directory protects them. */
    if (flag != FTW_D && !S_ISREG(sb->st_mode))
        return 0;
    if ((sb->st_mode & 077) && chmod(path, sb->st_mode & 0700) == 0)
        loose++;
    return 0;
}

int jn_statedir_claim(const char *path, char *err, size_t errlen)
{
    int r = jn_mkdirs(path);
    if (r < 0) {
        snprintf(err, errlen, "cannot create the state directory %s: %s", path, jn_strerror(r));
        return r;
    }
    char lock[4200];
    if (snprintf(lock, sizeof(lock), "%s/jern.lock", path) >= (int)sizeof(lock)) {
        snprintf(err, errlen, "state directory path too long: %s", path);
        return -ENAMETOOLONG;
    }
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot open %s: %s", lock, strerror(errno));
        return r;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        r = errno == EWOULDBLOCK ? JN_EEXIST : -errno;
        char text[32] = "";
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        text[n > 0 ? n : 0] = '\0';
        int pid = atoi(text);
        if (r == JN_EEXIST)
            snprintf(err, errlen,
                     "state dir %s in use by pid %d (another jern serve): stop it, or give this "
                     "daemon another state_dir",
                     path, pid);
        else
            snprintf(err, errlen, "cannot lock %s: %s", lock, strerror(-r));
        close(fd);
        return r;
    }
    char text[32];
    int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n)
        jn_warn("cannot write the pid into %s: %s", lock, strerror(errno));

    /* Older daemons (or an operator's mkdir) left the dir and its files
     * readable by every user: env secrets are in jern.db. */
    struct stat sb;
    if (stat(path, &sb) == 0 && (sb.st_mode & 077)) {
        jn_notice("state dir %s was mode %04o: tightening it to 0700 and its files to 0600 (it "
                  "holds secrets)",
                  path, (unsigned)(sb.st_mode & 07777));
    }
    loose = 0;
    nftw(path, tighten, 16, FTW_PHYS);
    if (loose > 0)
        jn_notice("state dir %s: tightened the modes of %d entries", path, loose);
    return fd;
}
