"""Pebble, Let's Encrypt's test CA (Debian's `pebble` package), for tests of
jern's certificate manager: its own API certificate made with openssl, a
config pointing its HTTP-01 validator at jern's app listener, and
pebble-challtestsrv as the DNS server that answers every name with
127.0.0.1 (or what a test asks for one name)."""
import json
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from conftest import free_port, wait_port


class Pebble:
    def __init__(self, procs, tmp_path, http_port):
        self.dir = Path(tmp_path) / "pebble"
        self.dir.mkdir()
        self.http_port = http_port
        self.port, self.mgmt = free_port(), free_port()
        self.dns, self.chall_mgmt = free_port(), free_port()
        self.cert, key = self.dir / "cert.pem", self.dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        cfg = {"pebble": {"listenAddress": f"127.0.0.1:{self.port}",
                          "managementListenAddress": f"127.0.0.1:{self.mgmt}",
                          "certificate": str(self.cert), "privateKey": str(key),
                          "httpPort": http_port, "tlsPort": free_port(),
                          "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        (self.dir / "cfg.json").write_text(json.dumps(cfg))
        procs.start(["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                     "-dns01", f"127.0.0.1:{self.dns}", "-http01", "", "-https01", "",
                     "-tlsalpn01", "", "-management", f"127.0.0.1:{self.chall_mgmt}"],
                    name="challtestsrv")
        wait_port(self.chall_mgmt)
        self.proc = procs.start(["pebble", "-config", self.dir / "cfg.json", "-dnsserver",
                                 f"127.0.0.1:{self.dns}"], name="pebble",
                                env={"PEBBLE_VA_NOSLEEP": "1"})
        wait_port(self.port)
        wait_port(self.mgmt)

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def jern_block(self):
        """The jern block directives that point jern at this Pebble."""
        return (f"acme_directory {self.directory}; acme_ca_bundle {self.cert}; "
                f"acme_email ops@example.test;")

    def root_pem(self, path):
        """Writes the root that signs issued certificates to path."""
        ctx = ssl.create_default_context(cafile=str(self.cert))
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt}/roots/0", context=ctx,
                                    timeout=10) as r:
            Path(path).write_bytes(r.read())
        return path

    def intermediate_pem(self, path):
        ctx = ssl.create_default_context(cafile=str(self.cert))
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt}/intermediates/0",
                                    context=ctx, timeout=10) as r:
            Path(path).write_bytes(r.read())
        return path

    def add_a(self, host, addr):
        """Makes the mock DNS answer host with addr (e.g. 127.0.0.2)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.chall_mgmt}/add-a",
            data=json.dumps({"host": host.rstrip(".") + ".", "addresses": [addr]}).encode(),
            method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def log(self):
        return self.proc.output()


def wait_cert(admin, domain, pred, timeout=30):
    """Polls GET /v1/certs/DOMAIN until pred(cert) holds; returns the cert."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        a = admin.get(f"/v1/certs/{domain}")
        if a.status == 200:
            last = a.json()
            if pred(last):
                return last
        time.sleep(0.1)
    raise TimeoutError(f"certificate for {domain} never got there; last: {last}")
