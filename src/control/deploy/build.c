/*
 * build.c: the source of a deploy --build (see build.h): git and tar run as
 * child processes, their output captured for the messages.
 */
#include "core/common.h"

#include "control/deploy/build.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIT_TIMEOUT_MS 10000
#define PACK_TIMEOUT_MS 600000

extern char **environ;

/* Runs argv to its end (killed after timeout_ms) with stdout into out (its
 * first outlen - 1 bytes; NULL: discarded) and stderr into err. Returns the
 * exit status, or a negative code when it could not run or timed out. */
static int run(char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
               int64_t timeout_ms)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        int e = -errno;
        close(po[0]);
        close(po[1]);
        return e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&at, &all);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (e != 0) {
        close(po[0]);
        close(pe[0]);
        return -e;
    }
    size_t no = 0, ne = 0;
    int64_t deadline = jn_now_ms() + timeout_ms;
    bool open_o = true, open_e = true, timed_out = false;
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    while (open_o || open_e) {
        char buf[4096];
        bool got = false;
        ssize_t n;
        if (open_o && (n = read(po[0], buf, sizeof(buf))) != -1) {
            got = true;
            open_o = n > 0;
            for (ssize_t i = 0; out && i < n && no + 1 < outlen; i++)
                out[no++] = buf[i];
        }
        if (open_e && (n = read(pe[0], buf, sizeof(buf))) != -1) {
            got = true;
            open_e = n > 0;
            for (ssize_t i = 0; i < n && ne + 1 < errlen; i++)
                err[ne++] = buf[i];
        }
        if (jn_now_ms() > deadline) {
            kill(pid, SIGKILL);
            timed_out = true;
            break;
        }
        if (!got) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (out)
        out[no] = '\0';
    err[ne] = '\0';
    while (ne > 0 && (err[ne - 1] == '\n' || err[ne - 1] == '\r'))
        err[--ne] = '\0';
    close(po[0]);
    close(pe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return JN_ETIMEDOUT;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool is_file(const char *dir, const char *name)
{
    char p[JN_BUILD_PATH_MAX + 32];
    struct stat sb;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A ref as git takes it on a command line: no option, no space. */
static bool ref_ok(const char *ref)
{
    if (!*ref || ref[0] == '-' || strlen(ref) > 200)
        return false;
    for (const char *c = ref; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return false;
    return true;
}

int jn_build_resolve(const char *dir, const char *ref, struct jn_build_src *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct stat sb;
    if (!dir || dir[0] != '/' || strlen(dir) >= sizeof(out->context)) {
        snprintf(err, errlen, "--build needs a local directory as an absolute path (a git URL: "
                              "clone it first, then --build DIR --ref REF)");
        return JN_EBADINPUT;
    }
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "--build %.300s: %s", dir,
                 errno && stat(dir, &sb) < 0 ? strerror(errno) : "not a directory");
        return JN_EBADINPUT;
    }
    snprintf(out->context, sizeof(out->context), "%s", dir);
    if (!ref || !*ref) {
        const char *f = is_file(dir, "Containerfile") ? "Containerfile"
                        : is_file(dir, "Dockerfile")  ? "Dockerfile"
                                                      : NULL;
        if (!f) {
            snprintf(err, errlen,
                     "--build %.300s: no Containerfile or Dockerfile there (write one, or give "
                     "the directory that has it)",
                     dir);
            return JN_EBADINPUT;
        }
        snprintf(out->dockerfile, sizeof(out->dockerfile), "%s", f);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(out->tag, sizeof(out->tag), "%Y%m%d%H%M%S", &tm);
        return 0;
    }
    if (!ref_ok(ref)) {
        snprintf(err, errlen, "--ref '%.64s' is not a git revision (a branch, tag or commit)",
                 ref);
        return JN_EBADINPUT;
    }
    snprintf(out->ref, sizeof(out->ref), "%s", ref);
    char rev[300], sha[128], gerr[512];
    snprintf(rev, sizeof(rev), "%s^{commit}", ref);
    char *argv[] = {"git", "-C", (char *)dir, "rev-parse", "--verify", "--quiet", rev, NULL};
    int r = run(argv, sha, sizeof(sha), gerr, sizeof(gerr), GIT_TIMEOUT_MS);
    sha[strcspn(sha, "\n")] = '\0';
    if (r != 0 || strlen(sha) != 40) {
        snprintf(err, errlen, "--build %.300s --ref %.64s: %s", dir, ref,
                 r == -ENOENT ? "git is not installed (apt-get install git)"
                 : r == 0     ? "git answered no commit"
                 : *gerr      ? gerr
                              : "no such revision in that git repository (see: git -C DIR log)");
        return JN_EBADINPUT;
    }
    snprintf(out->commit, sizeof(out->commit), "%.40s", sha);
    snprintf(out->tag, sizeof(out->tag), "%.12s", sha);
    static const char *const names[] = {"Containerfile", "Dockerfile"};
    for (size_t i = 0; i < JN_ARRAY_LEN(names) && !out->dockerfile[0]; i++) {
        char obj[128];
        snprintf(obj, sizeof(obj), "%.40s:%s", sha, names[i]);
        char *cat[] = {"git", "-C", (char *)dir, "cat-file", "-e", obj, NULL};
        if (run(cat, NULL, 0, gerr, sizeof(gerr), GIT_TIMEOUT_MS) == 0)
            snprintf(out->dockerfile, sizeof(out->dockerfile), "%s", names[i]);
    }
    if (!out->dockerfile[0]) {
        snprintf(err, errlen,
                 "--build %.300s --ref %.64s: commit %.12s has no Containerfile or Dockerfile at "
                 "the top of the tree",
                 dir, ref, sha);
        return JN_EBADINPUT;
    }
    return 0;
}

int jn_build_pack(const struct jn_build_src *src, const char *tar_path, char *err,
                  size_t errlen)
{
    char perr[512];
    int r;
    if (src->commit[0]) {
        char outopt[JN_BUILD_PATH_MAX + 8];
        snprintf(outopt, sizeof(outopt), "--output=%s", tar_path);
        char *argv[] = {"git", "-C", (char *)src->context, "archive", "--format=tar",
                        outopt, (char *)src->commit, NULL};
        r = run(argv, NULL, 0, perr, sizeof(perr), PACK_TIMEOUT_MS);
    } else {
        char fopt[JN_BUILD_PATH_MAX + 8];
        snprintf(fopt, sizeof(fopt), "--file=%s", tar_path);
        char *argv[] = {"tar", "-C", (char *)src->context, "--create", fopt, "--exclude=.git",
                        ".", NULL};
        r = run(argv, NULL, 0, perr, sizeof(perr), PACK_TIMEOUT_MS);
    }
    if (r != 0) {
        snprintf(err, errlen, "cannot pack the build context %.300s: %s", src->context,
                 r == JN_ETIMEDOUT ? "took longer than 10 minutes"
                 : r < 0           ? jn_strerror(r)
                 : *perr           ? perr
                                   : "the packer failed");
        unlink(tar_path);
        return r < 0 ? r : JN_EBASE;
    }
    return 0;
}
