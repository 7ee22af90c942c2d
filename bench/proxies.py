"""The processes under test and their configs: two nginx `return 200 "ok"`
backends shared by every proxy, and nginx, HAProxy and jern as proxies, each
with one worker, least_conn over the two backends, HTTP/1.1 keep-alive to
them, no access log, keep-alive to clients.

The same upstream pool for all three: 64 idle connections in all. nginx and
jern `keepalive 64` (both per upstream, per worker: nginx's meaning, which
jern follows since issue 22); HAProxy `pool-max-conn 32` per server, 64 in
all over the two. That is more than -c50 needs, so no proxy reconnects to
the backends at -c50; at -c500 all three do, alike. (The earlier bench gave
`keepalive 32` to nginx and jern and 16 per server to HAProxy; jern then
applied it per server, 64 in all, against 32 for the others: see
docs/PERFORMANCE.md.)

Client and upstream keepalive_requests are raised to 1,000,000 on nginx and
jern (defaults: 1000) because HAProxy has no such limit: no proxy closes a
connection in the middle of a run. HAProxy reuses idle server connections
for any client (http-reuse always, as nginx's keepalive pool does).

Each backend answers /stub_status (nginx's counters): its accepted
connections, before and after a measurement, say how many new upstream
connections a proxy opened per request."""
import http.client
import os
import shutil
import subprocess
import time
from pathlib import Path

POOL = 64  # idle upstream connections each proxy keeps, in all
HAPROXY_MAXCONN = 9000  # HAProxy wants 2 * maxconn + 25 fds; the hard limit here is 20000

# CPU sets (None: unpinned) set by bench.py: the proxy under test on one CPU,
# wrk and the backends on the others, the same for every proxy.
CPUS = {"proxy": None, "load": None}


class Child:
    """A started process in its own session (so its workers share its process
    group and can be stopped together), output to a log file."""

    def __init__(self, argv, log, env=None, cpus=None):
        """cpus: a CPUS key; the process and everything it starts inherit
        that affinity (set before exec, so no worker escapes it)."""
        self.argv = [str(a) for a in argv]
        self.log = Path(log)
        self._logf = open(self.log, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        cpuset = CPUS.get(cpus) if cpus else None
        pin = (lambda: os.sched_setaffinity(0, cpuset)) if cpuset else None
        self.p = subprocess.Popen(self.argv, stdout=self._logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=full_env,
                                  start_new_session=True, preexec_fn=pin)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=5.0):
        """SIGTERM to the process group (nginx's and HAProxy's masters wait
        for their workers before exiting), SIGKILL to the group after timeout."""
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, 15)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, 9)
                self.p.wait()
            except ProcessLookupError:
                pass
        self._logf.close()

    def tail(self, lines=15):
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_ready(port, child, timeout=10.0):
    """Waits until GET / on port answers 200 "ok". Returns None, or why not."""
    deadline = time.monotonic() + timeout
    last = "nothing listening"
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            return f"exited with status {child.p.returncode}"
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200 and body == b"ok":
                return None
            last = f"answered {r.status} {body[:60]!r}, expected 200 \"ok\""
        except (OSError, http.client.HTTPException) as e:
            last = str(e) or type(e).__name__
        time.sleep(0.05)
    return last


def _nginx_temp_paths(d):
    return "".join(f"    {k}_temp_path {d}/{k};\n"
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def upstream_addr(b, haproxy=False):
    """A backend as a proxy config names it: a port on 127.0.0.1, or a unix
    socket given as "unix:PATH" (bench/unix.py)."""
    if isinstance(b, str) and b.startswith("unix:"):
        return ("unix@" if haproxy else "unix:") + b[5:]
    return f"127.0.0.1:{b}"


def backend_socket(d):
    """The unix socket every bench backend listens on beside its port."""
    return Path(d) / "backend.sock"


def backend_config(d, port):
    return f"""# bench backend: the fastest answer nginx can give, one worker
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
{_nginx_temp_paths(d)}    server {{
        listen 127.0.0.1:{port};
        listen unix:{backend_socket(d)};
        location / {{ default_type text/plain; return 200 "ok"; }}
        location = /stub_status {{ stub_status; }}
    }}
}}
"""


def _nginx_syntax_proxy(d, port, backends, nofile, nginx_only):
    """The proxy config nginx and jern share; nginx_only adds what only nginx
    understands or needs (foreground mode, temp paths)."""
    servers = "".join(f"        server {upstream_addr(b)};\n" for b in backends)
    return f"""# bench proxy: one worker, least_conn, keep-alive both sides, no access log
worker_processes 1;
worker_rlimit_nofile {nofile};
{"daemon off;" + chr(10) if nginx_only else ""}pid {d}/proxy.pid;
error_log {d}/error.log warn;
events {{ worker_connections {nofile}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
{_nginx_temp_paths(d) if nginx_only else ""}    upstream backends {{
        least_conn;
{servers}        keepalive {POOL};
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def _haproxy_config(port, backends):
    per = POOL // max(1, len(backends))
    servers = "".join(f"    server b{i} {upstream_addr(b, haproxy=True)} pool-max-conn {per}\n"
                      for i, b in enumerate(backends, 1))
    return f"""# bench proxy: one thread, leastconn, keep-alive both sides, no log lines
global
    maxconn {HAPROXY_MAXCONN}
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
    http-reuse always
frontend bench
    bind 127.0.0.1:{port}
    default_backend backends
backend backends
    balance leastconn
{servers}"""


class Proxy:
    """One proxy under test. start() writes its config into a fresh
    directory and starts it; returns None or why it did not come up."""

    def __init__(self, name, binary):
        self.name = name
        self.binary = binary
        self.child = None
        self.port = None
        self.idle_cap = None  # connections it can hold, when below the test's count

    def available(self):
        """None, or why this proxy cannot run on this machine."""
        if not self.binary or not shutil.which(self.binary):
            return f"{self.binary or self.name} not found (scripts/install-deps.sh installs it)"
        return None

    def _argv(self, d, conf):
        raise NotImplementedError

    def _config(self, d, port, backends, nofile):
        raise NotImplementedError

    def start(self, d, port, backends, nofile):
        d = Path(d)
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "proxy.conf"
        conf.write_text(self._config(d, port, backends, nofile))
        self.port = port
        self.child = Child(self._argv(d, conf), d / "output.log", cpus="proxy")
        why = wait_ready(port, self.child)
        if why:
            err = d / "error.log"
            extra = err.read_text(errors="replace")[-2000:] if err.exists() else ""
            return f"{why}\n{self.child.tail()}\n{extra}".rstrip()
        return None

    def stop(self):
        if self.child:
            self.child.stop()
            self.child = None


class Nginx(Proxy):
    def __init__(self):
        super().__init__("nginx", shutil.which("nginx") or "/usr/sbin/nginx")

    def _config(self, d, port, backends, nofile):
        return _nginx_syntax_proxy(d, port, backends, nofile, nginx_only=True)

    def _argv(self, d, conf):
        return [self.binary, "-p", f"{d}/", "-e", f"{d}/error.log", "-c", conf]


class Haproxy(Proxy):
    def __init__(self):
        super().__init__("haproxy", shutil.which("haproxy") or "/usr/sbin/haproxy")
        self.idle_cap = HAPROXY_MAXCONN

    def _config(self, d, port, backends, nofile):
        return _haproxy_config(port, backends)

    def _argv(self, d, conf):
        # -W: master-worker, like nginx; -db: stay in the foreground.
        return [self.binary, "-W", "-db", "-f", conf]


class Jern(Proxy):
    def __init__(self, binary):
        super().__init__("jern", binary)

    def available(self):
        if not os.access(self.binary, os.X_OK):
            return f"{self.binary} is not built (make builds it)"
        # the command's own help, not the general one: its layout may change
        try:
            r = subprocess.run([self.binary, "gateway", "--help"], capture_output=True,
                               text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{self.binary} gateway --help failed: {e}"
        if r.returncode != 0 or "usage: jern gateway" not in r.stdout + r.stderr:
            return f"{self.binary} has no 'gateway' command (jern gateway --help: exit {r.returncode})"
        return None

    def _config(self, d, port, backends, nofile):
        return _nginx_syntax_proxy(d, port, backends, nofile, nginx_only=False)

    def _argv(self, d, conf):
        return [self.binary, "gateway", "-c", conf]


def backend_accepts(port):
    """Connections the backend on port accepted so far, its own /stub_status
    request's included (one per call), or None when it does not answer."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/stub_status")
        text = c.getresponse().read().decode()
        c.close()
        return int(text.splitlines()[2].split()[0])
    except (OSError, http.client.HTTPException, ValueError, IndexError):
        return None


def start_backend(d, port):
    """Starts one nginx backend; returns (Child, None) or (Child, why)."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "backend.conf"
    conf.write_text(backend_config(d, port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    child = Child([nginx, "-p", f"{d}/", "-e", f"{d}/error.log", "-c", conf], d / "output.log",
                  cpus="load")
    why = wait_ready(port, child)
    return child, why
