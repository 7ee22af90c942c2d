"""Helpers for tests of `jern serve`: start the daemon in a temporary state
directory and talk to its admin API over the unix socket (or TCP)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import JERN, free_port, wait_port


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode(errors="replace")

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


class Admin:
    """A small admin API client: api.get("/v1/apps"), api.post(path, obj)..."""

    def __init__(self, sock=None, tcp=None, token=None):
        self.sock, self.tcp, self.token = sock, tcp, token

    def raw(self, method, path, body=None, headers=None):
        if self.sock:
            c = UnixHTTPConnection(self.sock)
        else:
            c = http.client.HTTPConnection(self.tcp[0], self.tcp[1], timeout=10)
        h = dict(headers or {})
        if self.token and "Authorization" not in h:
            h["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        a = Answer(r.status, dict(r.getheaders()), r.read())
        c.close()
        return a

    def call(self, method, path, obj=None):
        body = None if obj is None else json.dumps(obj)
        hdr = {"Content-Type": "application/json"} if body is not None else {}
        return self.raw(method, path, body, hdr)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, obj):
        return self.call("POST", path, obj)

    def patch(self, path, obj):
        return self.call("PATCH", path, obj)

    def delete(self, path):
        return self.call("DELETE", path)


class Daemon:
    def __init__(self, procs, tmp_path, config=None, name="jern", listen_port=None):
        """config: the file's text; "{port}" in it becomes self.port. The
        default listens for apps on a free port (never on 8080, which the
        machine may share)."""
        self.procs = procs
        self.tmp = Path(tmp_path)
        self.state = self.tmp / "state"
        self.port = listen_port or free_port()
        if config is None:
            config = "jern { listen 127.0.0.1:{port}; }\n"
        self.config = config.replace("{port}", str(self.port))
        self.name = name
        self.proc = None

    @property
    def sock(self):
        return str(self.state / "admin.sock")

    def env(self):
        return {"JERN_STATE": str(self.state), "JERN_ADMIN": self.sock}

    def start(self, wait=True):
        args = [JERN, "serve"]
        if self.config:
            path = self.tmp / f"{self.name}.conf"
            path.write_text(self.config)
            args += ["-c", str(path)]
        self.proc = self.procs.start(args, name=self.name, env=self.env(), cwd=str(self.tmp))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"jern serve exited:\n{self.proc.output()}")
            try:
                if self.admin().get("/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"jern serve not ready:\n{self.proc.output()}")

    def admin(self):
        return Admin(sock=self.sock)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def cli(self, *args, env=None):
        e = dict(os.environ)
        e.update(self.env())
        if env:
            e.update(env)
        return subprocess.run([JERN, *args], capture_output=True, text=True, timeout=20, env=e)

    def kill9(self):
        self.proc.send(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        return self.proc.stop()
