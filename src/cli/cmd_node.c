/*
 * cmd_node.c: `jern node add|remove ssh://USER@HOST[:PORT]` (docs/APPLY.md,
 * "Servers over SSH"). Bootstraps a Debian 12 server with the system's
 * OpenSSH client: checks the OS, installs the runtime libraries with apt,
 * copies this binary, writes the config and a systemd unit whose ExecStart
 * is `jern serve` (with the cluster flags when --cluster is given), enables
 * and starts it, and checks that it answers. Each step compares first, so a
 * second run changes nothing and says so.
 *
 * Host keys are verified: the user's known_hosts or --known-hosts FILE;
 * --accept-new-host-key learns an unknown one (OpenSSH's accept-new), never
 * StrictHostKeyChecking=no. Scripts travel on ssh's stdin to `sh -s` (never
 * on a command line the remote shell could keep in a history or ps shows).
 *
 * --root DIR installs under DIR on the remote side and runs the daemon
 * without systemd (for tests on a machine that must not change).
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/node_int.h"
#include "control/cluster/model.h"
#include "core/buf.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX (1 << 20)

/* What `jern serve` needs on a node (Debian 12 package names). */
static const char RUNTIME_PKGS[] = "libsqlite3-0 libcurl4 libcjson1 libssl3 libnghttp2-14 "
                                   "libmariadb3 libyaml-0-2 ca-certificates openssl";

/* ---- running ssh ---- */

/* 'text' for a POSIX shell. */
void jn_node_shq(struct jn_buf *b, const char *s)
{
    jn_buf_puts(b, "'");
    for (; *s; s++)
        jn_buf_puts(b, *s == '\'' ? "'\\''" : (char[]){*s, 0});
    jn_buf_puts(b, "'");
}

/* Runs ssh to the node with remote command cmd, in (may be NULL) on its
 * stdin, its stdout into out (may be NULL). cmd NULL starts the master of a
 * multiplexed connection (n->control) that the later calls share: one login
 * per run. Returns ssh's exit status (255: ssh itself failed), or -1 when
 * it could not run. */
static int ssh_run(const struct jn_node_target *n, const char *cmd, const void *in, size_t inlen,
                   struct jn_buf *out)
{
    char port[16], khf[1200], host[400], cp[200];
    snprintf(port, sizeof(port), "%d", n->url.port);
    snprintf(host, sizeof(host), "%s@%s", n->url.user, n->url.host);
    const char *argv[32];
    int k = 0;
    argv[k++] = "ssh";
    argv[k++] = "-T";
    argv[k++] = "-p";
    argv[k++] = port;
    argv[k++] = "-o";
    argv[k++] = "BatchMode=yes";
    argv[k++] = "-o";
    argv[k++] = n->accept_new ? "StrictHostKeyChecking=accept-new" : "StrictHostKeyChecking=yes";
    argv[k++] = "-o";
    argv[k++] = "ConnectTimeout=10";
    argv[k++] = "-o";
    argv[k++] = "LogLevel=ERROR";
    if (n->known_hosts) {
        snprintf(khf, sizeof(khf), "UserKnownHostsFile=%s", n->known_hosts);
        argv[k++] = "-o";
        argv[k++] = khf;
    }
    if (n->identity) {
        argv[k++] = "-i";
        argv[k++] = n->identity;
        argv[k++] = "-o";
        argv[k++] = "IdentitiesOnly=yes";
    }
    if (n->control[0]) {
        snprintf(cp, sizeof(cp), "ControlPath=%s", n->control);
        argv[k++] = "-o";
        argv[k++] = cp;
        argv[k++] = "-o";
        argv[k++] = cmd ? "ControlMaster=no" : "ControlMaster=yes";
        if (!cmd) {
            argv[k++] = "-N";
            argv[k++] = "-f"; /* to the background once logged in */
        }
    }
    argv[k++] = "--";
    argv[k++] = host;
    if (cmd)
        argv[k++] = cmd;
    argv[k] = NULL;
    int pin[2], pout[2];
    if (pipe2(pin, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pout, O_CLOEXEC) < 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pin[0], 0);
        if (cmd) {
            dup2(pout[1], 1);
        } else {
            /* The master lives on: it must not hold our pipe open. */
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
        }
        execvp("ssh", (char *const *)argv);
        fprintf(stderr, "jern: cannot run ssh: %s (apt-get install openssh-client)\n",
                strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    const char *p = in;
    while (inlen > 0) {
        ssize_t w = write(pin[1], p, inlen);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* ssh went away: its status says why */
        p += w;
        inlen -= (size_t)w;
    }
    close(pin[1]);
    signal(SIGPIPE, old);
    char chunk[4096];
    ssize_t r;
    while ((r = read(pout[0], chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (out)
            jn_buf_append(out, chunk, (size_t)r);
    }
    close(pout[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void ssh_hint(const struct jn_node_target *n)
{
    fprintf(stderr,
            "jern: ssh to %s failed (above). An unknown host key: add it to %s (checked "
            "out of band, e.g. ssh-keyscan) or pass --accept-new-host-key to learn it "
            "now; a refused login: pass -i KEY\n",
            n->url_text, n->known_hosts ? n->known_hosts : "~/.ssh/known_hosts");
}

/* Logs in once: the master connection the other calls share. Returns 0 or 1. */
static int ssh_connect(struct jn_node_target *n)
{
    char dir[] = "/tmp/jern-ssh-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "jern: node: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(n->control, sizeof(n->control), "%s/c", dir);
    if (ssh_run(n, NULL, NULL, 0, NULL) != 0) {
        ssh_hint(n);
        rmdir(dir);
        n->control[0] = '\0';
        return 1;
    }
    return 0;
}

static void ssh_disconnect(struct jn_node_target *n)
{
    if (!n->control[0])
        return;
    char port[16], cp[200], host[400];
    snprintf(port, sizeof(port), "%d", n->url.port);
    snprintf(cp, sizeof(cp), "ControlPath=%s", n->control);
    snprintf(host, sizeof(host), "%s@%s", n->url.user, n->url.host);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execlp("ssh", "ssh", "-p", port, "-o", cp, "-O", "exit", "--", host, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    unlink(n->control);
    char *slash = strrchr(n->control, '/');
    *slash = '\0';
    rmdir(n->control);
    n->control[0] = '\0';
}

/* Runs script on the node as root (sudo -n for another user). */
int jn_node_sh(const struct jn_node_target *n, const char *script, struct jn_buf *out)
{
    const char *cmd = strcmp(n->url.user, "root") == 0 ? "sh -s" : "sudo -n sh -s";
    int rc = ssh_run(n, cmd, script, strlen(script), out);
    if (rc == 255)
        ssh_hint(n);
    return rc;
}

/* ---- what the node should hold ---- */

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void exec_start(const struct jn_node_target *n, struct jn_buf *b)
{
    jn_buf_printf(b, "%s serve -c %s", n->bin, n->conf);
    if (!n->cluster)
        return;
    jn_buf_printf(b, " --cluster %s --node %s --advertise %s", n->cluster, n->name, n->advertise);
    for (int i = 0; i < n->nlabels; i++)
        jn_buf_printf(b, " --label %s", n->labels[i]);
}

static void unit_text(const struct jn_node_target *n, struct jn_buf *b)
{
    jn_buf_printf(b,
                  "# Written by jern node add: the next run rewrites it.\n"
                  "[Unit]\n"
                  "Description=jern node %s\n"
                  "After=network-online.target\n"
                  "Wants=network-online.target\n\n"
                  "[Service]\n"
                  "Environment=JERN_STATE=%s\n"
                  "ExecStart=",
                  n->name, n->state);
    exec_start(n, b);
    jn_buf_puts(b, "\nExecReload=/bin/kill -HUP $MAINPID\n"
                   "KillSignal=SIGQUIT\n"
                   "TimeoutStopSec=60\n"
                   "Restart=on-failure\n"
                   "RestartSec=2\n"
                   "LimitNOFILE=1048576\n\n"
                   "[Install]\n"
                   "WantedBy=multi-user.target\n");
}

static void conf_text(const struct jn_node_target *n, struct jn_buf *b)
{
    jn_buf_printf(b,
                  "# Written by jern node add: the next run rewrites it.\n"
                  "jern {\n"
                  "    listen %s;\n"
                  "    state_dir %s;\n"
                  "}\n",
                  n->listen, n->state);
}

/* KEY=VALUE lines of out: the value of key, or "". */
const char *jn_node_kv(struct jn_buf *out, const char *key, char *val, size_t len)
{
    val[0] = '\0';
    const char *s = jn_buf_cstr(out);
    size_t kl = strlen(key);
    for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            size_t n = strcspn(l + kl + 1, "\n");
            snprintf(val, len, "%.*s", (int)n, l + kl + 1);
            break;
        }
    return val;
}

static void probe_script(const struct jn_node_target *n, struct jn_buf *s)
{
    jn_buf_puts(s, "unset HISTFILE\n"
                   ". /etc/os-release 2>/dev/null\n"
                   "echo \"os=$ID\"; echo \"os_version=$VERSION_ID\"; echo \"arch=$(uname -m)\"\n"
                   "h() { [ -f \"$1\" ] && sha256sum < \"$1\" | cut -d' ' -f1; }\n");
    jn_buf_puts(s, "echo \"bin=$(h ");
    jn_node_shq(s, n->bin);
    jn_buf_puts(s, ")\"; echo \"unit=$(h ");
    jn_node_shq(s, n->unit);
    jn_buf_puts(s, ")\"; echo \"conf=$(h ");
    jn_node_shq(s, n->conf);
    jn_buf_puts(s, ")\"\n");
    jn_buf_printf(s,
                  "m=''; for p in %s; do dpkg-query -W -f='${Status}' \"$p\" 2>/dev/null | "
                  "grep -q 'ok installed' || m=\"$m $p\"; done; echo \"missing=$m\"\n",
                  RUNTIME_PKGS);
    if (*n->root) {
        jn_buf_puts(s, "p=$(cat ");
        jn_node_shq(s, n->pid);
        jn_buf_puts(s, " 2>/dev/null); [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null && "
                       "echo running=1\n");
    } else {
        jn_buf_puts(s, "systemctl is-active --quiet jern.service && echo running=1\n"
                       "systemctl is-enabled --quiet jern.service && echo enabled=1\n");
    }
    jn_buf_puts(s, "exit 0\n");
}

/* A heredoc that writes text to path (atomically, with a rename). */
static void write_file(struct jn_buf *s, const char *path, const char *text)
{
    jn_buf_puts(s, "mkdir -p \"$(dirname ");
    jn_node_shq(s, path);
    jn_buf_puts(s, ")\"\ncat > ");
    jn_node_shq(s, path);
    jn_buf_puts(s, ".new <<'JERN_NODE_EOF'\n");
    jn_buf_puts(s, text);
    jn_buf_puts(s, "JERN_NODE_EOF\nmv -f ");
    jn_node_shq(s, path);
    jn_buf_puts(s, ".new ");
    jn_node_shq(s, path);
    jn_buf_puts(s, "\n");
}

/* Stops the daemon a --root install runs (QUIT: requests in flight finish). */
static void stop_rooted(const struct jn_node_target *n, struct jn_buf *s)
{
    jn_buf_puts(s, "p=$(cat ");
    jn_node_shq(s, n->pid);
    jn_buf_puts(s,
                " 2>/dev/null || true)\nif [ -n \"$p\" ] && kill -QUIT \"$p\" 2>/dev/null; then\n"
                "  i=0; while kill -0 \"$p\" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; "
                "i=$((i+1)); done\n  if kill -0 \"$p\" 2>/dev/null; then kill -KILL \"$p\"; "
                "fi\nfi\nrm -f ");
    jn_node_shq(s, n->pid);
    jn_buf_puts(s, "\n");
}

static void start_script(const struct jn_node_target *n, bool restart, struct jn_buf *s)
{
    if (*n->root) {
        if (restart)
            stop_rooted(n, s);
        struct jn_buf cmd;
        jn_buf_init(&cmd, 1 << 16);
        exec_start(n, &cmd);
        jn_buf_puts(s, "mkdir -p \"$(dirname ");
        jn_node_shq(s, n->log);
        jn_buf_puts(s, ")\" \"$(dirname ");
        jn_node_shq(s, n->pid);
        jn_buf_puts(s, ")\"\nset -f\ncd ");
        jn_node_shq(s, n->root);
        jn_buf_puts(s, " && JERN_STATE=");
        jn_node_shq(s, n->state);
        jn_buf_printf(s, " setsid %s >> ", jn_buf_cstr(&cmd));
        jn_node_shq(s, n->log);
        jn_buf_puts(s, " 2>&1 < /dev/null &\necho $! > ");
        jn_node_shq(s, n->pid);
        jn_buf_puts(s, "\n");
        jn_buf_free(&cmd);
    } else {
        jn_buf_printf(s,
                      "systemctl daemon-reload\nsystemctl enable --quiet jern.service\n"
                      "systemctl %s jern.service\n",
                      restart ? "restart" : "start");
    }
}

static void verify_script(const struct jn_node_target *n, struct jn_buf *s)
{
    jn_buf_puts(s, "i=0\nwhile [ $i -lt 150 ]; do\n  if out=$(");
    jn_node_shq(s, n->bin);
    jn_buf_puts(s, " status --admin ");
    char sock[1200];
    snprintf(sock, sizeof(sock), "%s/admin.sock", n->state);
    jn_node_shq(s, sock);
    jn_buf_puts(s, " 2>&1); then echo \"$out\" | head -3; exit 0; fi\n"
                   "  sleep 0.1; i=$((i+1))\ndone\necho \"$out\"\n");
    if (*n->root) {
        jn_buf_puts(s, "tail -n 20 ");
        jn_node_shq(s, n->log);
    } else {
        jn_buf_puts(s, "journalctl -u jern.service -n 20 --no-pager");
    }
    jn_buf_puts(s, "\nexit 1\n");
}

/* ---- the command ---- */

static int usage(void)
{
    return jn_client_usage(
        "node add ssh://USER@HOST[:PORT] [--label k=v]... [--name NAME] [--cluster URL] "
        "[--advertise ADDR] [--listen ADDR] [--known-hosts FILE | --accept-new-host-key] "
        "[-i KEY] [--skip-apt] [--no-start] [--root DIR] [--binary PATH]\n"
        "       jern node remove ssh://USER@HOST[:PORT] [--known-hosts FILE] [-i KEY] "
        "[--root DIR] [--drain-timeout SECONDS | --no-drain]");
}

/* Values that go into the unit, the config and the scripts: plain words. */
static bool word_ok(const char *s, const char *extra)
{
    if (!*s || strlen(s) > 512 || s[0] == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return false;
    return true;
}

static int parse_args(int argc, char **argv, struct jn_node_target *n)
{
    memset(n, 0, sizeof(*n));
    n->root = "";
    n->listen = "0.0.0.0:80";
    n->drain_timeout = 120;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--label") && has && n->nlabels < JN_NODE_MAX_LABELS) {
            const char *l = argv[++i];
            if (!jn_cluster_label_ok(l)) {
                fprintf(stderr,
                        "jern: node: --label \"%s\": expected key=value (letters, "
                        "digits, - _ .; up to 63 each)\n",
                        l);
                return 2;
            }
            n->labels[n->nlabels++] = l;
        } else if (!strcmp(a, "--name") && has) {
            n->name = argv[++i];
        } else if (!strcmp(a, "--cluster") && has) {
            n->cluster = argv[++i];
        } else if (!strcmp(a, "--advertise") && has) {
            n->advertise = argv[++i];
        } else if (!strcmp(a, "--listen") && has) {
            n->listen = argv[++i];
        } else if (!strcmp(a, "--known-hosts") && has) {
            n->known_hosts = argv[++i];
        } else if (!strcmp(a, "-i") && has) {
            n->identity = argv[++i];
        } else if (!strcmp(a, "--root") && has) {
            n->root = argv[++i];
        } else if (!strcmp(a, "--binary") && has) {
            n->binary = argv[++i];
        } else if (!strcmp(a, "--accept-new-host-key")) {
            n->accept_new = true;
        } else if (!strcmp(a, "--skip-apt")) {
            n->skip_apt = true;
        } else if (!strcmp(a, "--no-start")) {
            n->no_start = true;
        } else if (!strcmp(a, "--no-drain")) {
            n->no_drain = true;
        } else if (!strcmp(a, "--drain-timeout") && has) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 3600) {
                fprintf(stderr,
                        "jern: node: --drain-timeout: seconds from 1 to 3600, not "
                        "\"%s\"\n",
                        argv[i]);
                return 2;
            }
            n->drain_timeout = (int)t;
        } else if (a[0] != '-' && !n->url_text) {
            n->url_text = a;
        } else {
            fprintf(stderr, "jern: node: unexpected argument \"%s\"\n", a);
            return usage();
        }
    }
    if (!n->url_text)
        return usage();
    char err[512];
    if (jn_node_url_parse(n->url_text, &n->url, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: node: %s\n", err);
        return 2;
    }
    if (!n->name)
        n->name = n->url.host;
    if (!n->advertise)
        n->advertise = n->url.host;
    const char *bad = !word_ok(n->name, "-_.:")                              ? "--name"
                      : !word_ok(n->advertise, "-_.:[]")                     ? "--advertise"
                      : !word_ok(n->listen, "-_.:[]")                        ? "--listen"
                      : n->cluster && !word_ok(n->cluster, "-_.:/[]@=+") ? "--cluster"
                      : *n->root && (n->root[0] != '/' || !word_ok(n->root + 1, "-_./")) ? "--root"
                                                                                         : NULL;
    if (bad) {
        fprintf(stderr,
                "jern: node: %s: letters, digits and - _ . : only (--root: an absolute "
                "path)\n",
                bad);
        return 2;
    }
    if (n->nlabels && !n->cluster)
        fprintf(stderr, "jern: node: note: the labels take effect in the unit with --cluster "
                        "URL (a node alone has no placement)\n");
    snprintf(n->bin, sizeof(n->bin), "%s/usr/local/bin/jern", n->root);
    snprintf(n->conf, sizeof(n->conf), "%s/etc/jern/jern.conf", n->root);
    snprintf(n->unit, sizeof(n->unit), "%s/etc/systemd/system/jern.service", n->root);
    snprintf(n->state, sizeof(n->state), "%s/var/lib/jern", n->root);
    snprintf(n->pid, sizeof(n->pid), "%s/run/jern.pid", n->root);
    snprintf(n->log, sizeof(n->log), "%s/var/log/jern.log", n->root);
    return 0;
}

static char *read_binary(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "jern: node: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct jn_buf b;
    jn_buf_init(&b, (size_t)1 << 30);
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        jn_buf_append(&b, chunk, r);
    fclose(f);
    *len = b.len;
    return b.data;
}

/* The node must run Debian 12 on this binary's architecture. Returns 0 or 1. */
static int check_os(const struct jn_node_target *n, struct jn_buf *out)
{
    char os[64], ver[64], arch[64], local_arch[64] = "x86_64";
#if defined(__aarch64__)
    snprintf(local_arch, sizeof(local_arch), "aarch64");
#endif
    jn_node_kv(out, "os", os, sizeof(os));
    jn_node_kv(out, "os_version", ver, sizeof(ver));
    jn_node_kv(out, "arch", arch, sizeof(arch));
    if (strcmp(os, "debian") != 0 || strcmp(ver, "12") != 0) {
        fprintf(stderr, "jern: node %s runs %s %s: jern node add supports Debian 12 (bookworm)\n",
                n->name, *os ? os : "an unknown OS", ver);
        return 1;
    }
    if (strcmp(arch, local_arch) != 0) {
        fprintf(stderr,
                "jern: node %s is %s, this jern is built for %s: pass --binary PATH "
                "with a jern built for %s\n",
                n->name, arch, local_arch, arch);
        return 1;
    }
    printf("  os: Debian 12 %s: ok\n", arch);
    return 0;
}

/* Copies the binary to n->bin (a temporary name, then a rename). Returns
 * ssh's status. */
static int upload(const struct jn_node_target *n, const char *bin, size_t binlen)
{
    struct jn_buf cmd;
    jn_buf_init(&cmd, 1 << 16);
    struct jn_buf inner;
    jn_buf_init(&inner, 1 << 16);
    jn_buf_puts(&inner, "umask 022; mkdir -p \"$(dirname ");
    jn_node_shq(&inner, n->bin);
    jn_buf_puts(&inner, ")\" && cat > ");
    jn_node_shq(&inner, n->bin);
    jn_buf_puts(&inner, ".new && chmod 755 ");
    jn_node_shq(&inner, n->bin);
    jn_buf_puts(&inner, ".new && mv -f ");
    jn_node_shq(&inner, n->bin);
    jn_buf_puts(&inner, ".new ");
    jn_node_shq(&inner, n->bin);
    jn_buf_puts(&cmd, strcmp(n->url.user, "root") == 0 ? "sh -c " : "sudo -n sh -c ");
    jn_node_shq(&cmd, jn_buf_cstr(&inner));
    int r = ssh_run(n, jn_buf_cstr(&cmd), bin, binlen, NULL);
    jn_buf_free(&cmd);
    jn_buf_free(&inner);
    return r;
}

static int node_add(struct jn_node_target *n)
{
    char self[4096];
    const char *binpath = n->binary;
    if (!binpath) {
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (l <= 0) {
            fprintf(stderr, "jern: node: cannot find this binary (pass --binary PATH)\n");
            return 1;
        }
        self[l] = '\0';
        binpath = self;
    }
    size_t binlen;
    char *bin = read_binary(binpath, &binlen);
    if (!bin)
        return 1;
    struct jn_buf s, out, unit, conf;
    jn_buf_init(&s, 1 << 20);
    jn_buf_init(&out, OUT_MAX);
    jn_buf_init(&unit, 1 << 16);
    jn_buf_init(&conf, 1 << 16);
    unit_text(n, &unit);
    conf_text(n, &conf);
    char want_bin[65], want_unit[65], want_conf[65], v[512];
    sha256_hex(bin, binlen, want_bin);
    sha256_hex(unit.data, unit.len, want_unit);
    sha256_hex(conf.data, conf.len, want_conf);
    int rc = 1, changes = 0;

    printf("node %s: connecting to %s\n", n->name, n->url_text);
    fflush(stdout);
    probe_script(n, &s);
    int pr = jn_node_sh(n, jn_buf_cstr(&s), &out);
    if (pr != 0) {
        if (pr != 255)
            fprintf(stderr,
                    "jern: node %s: looking at the node failed (exit %d; as a user "
                    "other than root, sudo must work without a password)\n",
                    n->name, pr);
        goto out;
    }
    if (check_os(n, &out) != 0)
        goto out;

    char missing[512];
    jn_node_kv(&out, "missing", missing, sizeof(missing));
    const char *m = missing + strspn(missing, " ");
    if (!*m) {
        printf("  runtime packages: ok\n");
    } else if (n->skip_apt) {
        printf("  runtime packages: skipped (--skip-apt); missing: %s\n", m);
    } else {
        printf("  runtime packages: installing %s\n", m);
        fflush(stdout);
        jn_buf_reset(&s);
        jn_buf_printf(&s,
                      "set -e\nunset HISTFILE\nexport DEBIAN_FRONTEND=noninteractive\n"
                      "apt-get update -q >/dev/null\n"
                      "apt-get install -y -q --no-install-recommends %s >/dev/null\n",
                      m);
        if (jn_node_sh(n, jn_buf_cstr(&s), NULL) != 0) {
            fprintf(stderr, "jern: node %s: apt-get install failed (above)\n", n->name);
            goto out;
        }
        changes++;
    }

    bool bin_changed = strcmp(jn_node_kv(&out, "bin", v, sizeof(v)), want_bin) != 0;
    if (bin_changed) {
        printf("  binary: copying %s (%.1f MB) to %s\n", binpath, (double)binlen / 1e6, n->bin);
        fflush(stdout);
        int r = upload(n, bin, binlen);
        if (r != 0) {
            fprintf(stderr, "jern: node %s: copying the binary failed\n", n->name);
            goto out;
        }
        changes++;
    } else {
        printf("  binary: ok\n");
    }

    bool unit_changed = strcmp(jn_node_kv(&out, "unit", v, sizeof(v)), want_unit) != 0;
    bool conf_changed = strcmp(jn_node_kv(&out, "conf", v, sizeof(v)), want_conf) != 0;
    bool running = jn_node_kv(&out, "running", v, sizeof(v))[0] == '1';
    bool enabled = *n->root || jn_node_kv(&out, "enabled", v, sizeof(v))[0] == '1';
    jn_buf_reset(&s);
    jn_buf_puts(&s, "set -e\nunset HISTFILE\numask 022\n");
    if (unit_changed)
        write_file(&s, n->unit, jn_buf_cstr(&unit));
    if (conf_changed)
        write_file(&s, n->conf, jn_buf_cstr(&conf));
    printf("  unit %s: %s\n", n->unit, unit_changed ? "written" : "ok");
    printf("  config %s: %s\n", n->conf, conf_changed ? "written" : "ok");
    changes += unit_changed + conf_changed;
    bool restart = running && (bin_changed || unit_changed || conf_changed);
    bool start = !n->no_start && (!running || restart || !enabled);
    if (start) {
        start_script(n, restart, &s);
        printf("  jern serve: %s\n", restart ? "restarting" : "starting");
        changes++;
    } else if (n->no_start) {
        printf("  jern serve: not started (--no-start)\n");
        if (!*n->root && (unit_changed || !enabled))
            jn_buf_puts(&s, "systemctl daemon-reload\nsystemctl enable --quiet jern.service\n");
    } else {
        printf("  jern serve: running\n");
    }
    /* One session: write, start, and wait until it answers. */
    if (!n->no_start) {
        jn_buf_puts(&s, "set +e\n");
        verify_script(n, &s);
    }
    fflush(stdout);
    jn_buf_reset(&out);
    int ar = jn_node_sh(n, jn_buf_cstr(&s), &out);
    if (ar != 0) {
        if (ar != 255)
            fprintf(stderr, "jern: node %s: %s:\n%s", n->name,
                    n->no_start ? "writing the files failed"
                                : "jern does not answer (or could not be started)",
                    jn_buf_cstr(&out));
        goto out;
    }
    if (!n->no_start)
        printf("  answers: ok\n");
    if (!n->no_start && n->cluster && jn_node_join_check(n, &changes) != 0)
        goto out;
    if (changes)
        printf("node %s: ready (%d change%s)\n", n->name, changes, changes == 1 ? "" : "s");
    else
        printf("node %s: nothing to change\n", n->name);
    rc = 0;
out:
    fflush(stdout);
    jn_buf_free(&s);
    jn_buf_free(&out);
    jn_buf_free(&unit);
    jn_buf_free(&conf);
    free(bin);
    return rc;
}

static int node_remove(struct jn_node_target *n)
{
    struct jn_buf s, out;
    jn_buf_init(&s, 1 << 20);
    jn_buf_init(&out, OUT_MAX);
    if (jn_node_drain_before_stop(n) != 0) {
        jn_buf_free(&s);
        jn_buf_free(&out);
        return 1;
    }
    jn_buf_puts(&s, "set -e\nunset HISTFILE\nchanged=0\n");
    if (*n->root) {
        jn_buf_puts(&s, "if [ -f ");
        jn_node_shq(&s, n->pid);
        jn_buf_puts(&s, " ]; then changed=1; fi\n");
        stop_rooted(n, &s);
    } else {
        jn_buf_puts(&s, "if systemctl is-active --quiet jern.service || systemctl is-enabled "
                        "--quiet jern.service 2>/dev/null; then changed=1; "
                        "systemctl disable --now jern.service; fi\n");
    }
    jn_buf_puts(&s, "if [ -f ");
    jn_node_shq(&s, n->unit);
    jn_buf_puts(&s, " ]; then changed=1; rm -f ");
    jn_node_shq(&s, n->unit);
    jn_buf_puts(&s, "; fi\n");
    if (!*n->root)
        jn_buf_puts(&s, "systemctl daemon-reload\n");
    jn_buf_puts(&s, "echo changed=$changed\n");
    int r = jn_node_sh(n, jn_buf_cstr(&s), &out), rc = r == 0 ? 0 : 1;
    if (r != 0 && r != 255)
        fprintf(stderr, "jern: node %s: stopping jern failed (exit %d)\n", n->name, r);
    char v[16];
    if (rc == 0)
        printf("node %s: %s\n", n->name,
               jn_node_kv(&out, "changed", v, sizeof(v))[0] == '1'
                   ? "stopped (requests in flight finished) and its unit removed; the binary, "
                     "config and state are kept"
                   : "nothing to change");
    jn_buf_free(&s);
    jn_buf_free(&out);
    return rc;
}

int jn_cmd_node_ssh(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "remove") != 0))
        return usage();
    struct jn_node_target n;
    int rc = parse_args(argc, argv, &n);
    if (rc)
        return rc;
    if (ssh_connect(&n))
        return 1;
    rc = argv[1][0] == 'a' ? node_add(&n) : node_remove(&n);
    ssh_disconnect(&n);
    return rc;
}
