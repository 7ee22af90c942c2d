"""jern against nginx: the same nginx.conf text is loaded by jern and by a
real nginx (Debian's, started by the test), the same raw bytes are sent to
both, and the answers are compared. Where jern follows a newer nginx than the
one installed here (1.22), the test says so and checks jern alone."""
import os
import re
import subprocess
import socket
import time

import pytest

from conftest import JERN, Proc, free_port, have, raw, wait_port
from rawbackend import RawBackend

pytestmark = pytest.mark.skipif(not have("nginx"), reason="nginx is not installed")

DATE_RE = re.compile(rb"^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r$", re.M)


def backend_answer(conn, data):
    """Answers by path, with what each test needs from an upstream."""
    line = data.split(b"\r\n", 1)[0]
    path = line.split(b" ")[1] if b" " in line else b"/"
    port = conn.getsockname()[1]
    extra = b""
    status = b"200 OK"
    if path.startswith(b"/up/redir"):
        extra = b"Location: http://127.0.0.1:%d/up/there\r\nRefresh: 5; url=http://127.0.0.1:%d/up/r\r\n" % (port, port)
        status = b"302 Found"
    elif path.startswith(b"/up/relative"):
        extra = b"Location: /up/rel\r\n"
        status = b"302 Found"
    elif path.startswith(b"/up/missing"):
        status = b"404 Not Found"
    body = b"path=" + path
    conn.sendall(b"HTTP/1.1 " + status + b"\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n"
                 b"Expires: Thu, 01 Jan 2037 00:00:00 GMT\r\nExpires: 0\r\n" + extra +
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


HTTP = r"""
    log_format bytes "$request|$status|$bytes_sent|$body_bytes_sent|$upstream_connect_time|$upstream_header_time|$upstream_response_length";
    access_log {dir}/access.log bytes;
    client_body_temp_path {dir}/cb;
    proxy_temp_path {dir}/pt;
    proxy_buffering on;
    proxy_buffer_size 8k;
    proxy_buffers 8 8k;
    server_names_hash_bucket_size 64;
    keepalive_time 1h;
    map $http_x_to $dyn {{ default one; down with_down; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    map $uri $kind {{ /vars/a exact-a; ~^/vars/img/ image; ~*\.CSS$ css; default other-$host; }}
    upstream one {{ server 127.0.0.1:{be}; }}
    upstream with_down {{ server 127.0.0.1:{be}; server 127.0.0.1:{dead} down; }}
    server {{
        listen 127.0.0.1:{port};
        server_name compat.test;
        add_header X-Host "h=$host" always;
        add_header X-Ok "only-2xx-3xx";
        location = /text {{ return 404 "not here\n"; }}
        location = /ok {{ return 200; }}
        location = /typed {{ default_type application/json; return 200 '{{"a":1}}'; }}
        location = /close {{ return 444; }}
        location = /redirect {{ return 301 /elsewhere?x=1; }}
        location = /redirect-abs {{ return 302 http://other.test/x; }}
        location /up/ {{ proxy_pass http://127.0.0.1:{be}; }}
        location /uri/ {{ proxy_pass http://127.0.0.1:{be}/up/; }}
        location /off/ {{ proxy_pass http://127.0.0.1:{be}/up/; proxy_redirect off; }}
        location /explicit/ {{
            proxy_pass http://127.0.0.1:{be}/up/;
            proxy_redirect http://127.0.0.1:{be}/up/ https://public.test/;
        }}
        location = /ep/404 {{ error_page 404 /ep-page; return 404; }}
        location = /ep/500 {{ error_page 500 502 =503 /ep-page; return 500; }}
        location = /ep/403 {{ error_page 403 https://errors.test/forbidden; return 403; }}
        location = /ep/301 {{ error_page 403 =301 http://errors.test/moved; return 403; }}
        location = /ep/eq {{ error_page 404 = /ep-page; return 404; }}
        location = /ep/text {{ error_page 404 /ep-page; return 404 "own text"; }}
        location = /ep-page {{ return 200 "error page\n"; }}
        location /ie/ {{
            proxy_pass http://127.0.0.1:{be}/up/;
            proxy_intercept_errors on;
            error_page 404 =200 /ep-page;
        }}
        location /noie/ {{ proxy_pass http://127.0.0.1:{be}/up/; error_page 404 /ep-page; }}
        location /vars/ {{
            set $tier gold;
            add_header X-Conn $connection_upgrade;
            return 200 "tier=$tier kind=$kind\n";
        }}
        location /vars/silver/ {{ set $tier silver; set $both "$tier-$kind"; return 200 "$both\n"; }}
        location /dyn/ {{ proxy_pass http://$dyn; }}
        location /pm/ {{ proxy_method PUT; proxy_pass_request_headers off; proxy_pass http://one; }}
        location /next/ {{
            proxy_pass http://with_down/up/;
            proxy_next_upstream error timeout http_404;
        }}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name ~^(www\.)?regex\.test$ "~^api[0-9]+\.regex\.test$";
        location / {{ return 200 "root\n"; }}
        location ^~ /static/ {{ return 200 "static prefix\n"; }}
        location ~* \.(png|jpg)$ {{ return 200 "image\n"; }}
        location ~ ^/api/v[0-9]+/ {{ return 200 "api regex\n"; }}
        location /api/ {{ return 200 "api prefix\n"; }}
        location = /x.png {{ return 200 "exact\n"; }}
        location ~ /re/ {{ proxy_pass http://one; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name rw.test www.rw.test;
        if ($host = www.rw.test) {{ return 301 http://rw.test$request_uri; }}
        rewrite ^/old/(.*)$ /new/$1 permanent;
        rewrite ^/q/(\w+)$ /search?q=$1? redirect;
        rewrite ^/keep/(.*)$ /kept/$1?from=keep redirect;
        rewrite ^/abs/(.*)$ https://elsewhere.test/$1;
        location / {{
            if ($http_x_mode ~ "^(fast|slow)$") {{ return 200 "mode $1\n"; }}
            return 200 "root $uri\n";
        }}
        location /api/ {{
            if ($request_method = DELETE) {{ return 405; }}
            if ($http_user_agent ~* (bot|crawler)) {{ return 403 "no $1s here\n"; }}
            if ($http_x_flag) {{ return 200 "flag set\n"; }}
            if ($http_x_env != prod) {{ rewrite ^/api/(.*)$ /staging/api/$1 redirect; }}
            rewrite ^/api/v1/(.*)$ /api/v2/$1 redirect;
            return 200 "api $uri\n";
        }}
        location = /gone {{ return 410; rewrite ^ /x permanent; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name static.test;
        root {site}/www;
        types {{ text/html html; text/css css; application/javascript js; }}
        default_type application/octet-stream;
        location / {{ }}
        location /assets/ {{ alias {site}/assets/; }}
        location /spa/ {{ try_files $uri $uri/ /index.html; }}
        location /strict/ {{ try_files $uri =404; }}
        location /up/ {{ proxy_pass http://127.0.0.1:{be}; }}
    }}
"""


def conf_text(tmp_path, name, port, be, dead):
    d = tmp_path / name
    d.mkdir()
    http = HTTP.format(dir=d, port=port, be=be, dead=dead, site=tmp_path / "site")
    # nginx's workers leave root for nobody, who cannot read a private tmp dir
    user = "user root;\n" if name == "nginx" and os.geteuid() == 0 else ""
    return d, ("daemon off;\n%sworker_processes 1;\npid %s/pid;\nerror_log %s/error.log;\n"
               "events {}\nhttp {%s}\n" % (user, d, d, http))


def make_site(site):
    """The files the static server serves, the same for both."""
    for rel, data in (("www/index.html", b"<h1>home</h1>\n"), ("www/app.css", b"body{}\n"),
                      ("www/sub/index.html", b"sub index\n"), ("www/strict/ok.txt", b"ok\n"),
                      ("www/spa/real.js", b"real()\n"), ("www/noext", b"plain bytes"),
                      ("www/big.bin", bytes(range(256)) * 1200), ("assets/a.js", b"asset()\n"),
                      ("www/space name.html", b"spaced\n")):
        f = site / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    (site / "www" / "emptydir").mkdir()


@pytest.fixture
def pair(tmp_path):
    """jern and nginx with one config (only the listen port differs), in
    front of one raw backend. Yields (jern_port, nginx_port, backend, dirs)."""
    be = RawBackend(backend_answer)
    make_site(tmp_path / "site")
    dead = free_port()
    jport, nport = free_port(), free_port()
    jdir, jtext = conf_text(tmp_path, "jern", jport, be.port, dead)
    ndir, ntext = conf_text(tmp_path, "nginx", nport, be.port, dead)
    (jdir / "nginx.conf").write_text(jtext)
    (ndir / "nginx.conf").write_text(ntext)
    jern = Proc([JERN, "gateway", "-c", jdir / "nginx.conf"], tmp_path / "jern.log")
    nginx = Proc(["nginx", "-p", ndir, "-c", ndir / "nginx.conf"], tmp_path / "nginx.log")
    try:
        wait_port(jport)
        wait_port(nport)
        yield jport, nport, be, {"jern": jdir, "nginx": ndir}
    finally:
        jern.stop()
        nginx.stop(timeout=5)
        be.close()


def code(status_line):
    """The status code of a status line: reason phrases are RFC 9110's in
    jern ("302 Found") and older ones in nginx ("302 Moved Temporarily")."""
    return status_line[:12]


def split(resp):
    """(status line, [(name lower, value)], body) of the first response."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = [(k.strip().lower(), v.strip()) for k, _, v in (ln.partition(b":") for ln in lines[1:])]
    return lines[0], hdrs, body


def hget(hdrs, name):
    return [v for k, v in hdrs if k == name]


def both(pair, data, timeout=3.0):
    jport, nport = pair[0], pair[1]
    return raw(jport, data(jport) if callable(data) else data, timeout), \
        raw(nport, data(nport) if callable(data) else data, timeout)


def norm(v, pair):
    """A header value with the two listen ports made equal."""
    return v.replace(b":%d" % pair[0], b":PORT").replace(b":%d" % pair[1], b":PORT")


def test_date_and_status_line(pair):
    """1, 2: a Date on every answer (local, error, proxied: the upstream's is
    replaced), and HTTP/1.1 in the status line of an HTTP/1.0 request."""
    reqs = [b"GET /ok HTTP/1.0\r\n\r\n",
            b"GET /up/a HTTP/1.0\r\n\r\n",
            b"GET /up/missing HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n"]
    for req in reqs:
        j, n = both(pair, req)
        js, jh, _ = split(j)
        ns, nh, _ = split(n)
        assert code(js) == code(ns), (req, js, ns)
        assert js.startswith(b"HTTP/1.1 ")
        assert len(DATE_RE.findall(j)) == 1 and len(DATE_RE.findall(n)) == 1, (j, n)
        assert b"2001" not in hget(jh, b"date")[0]


def test_return_text_444_and_redirects(pair):
    """3, 4, 5: return's text alone with default_type, 444 closes without an
    answer, a relative redirect is made absolute from Host and the port."""
    for path in (b"/text", b"/ok", b"/typed"):
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        (js, jh, jb), (ns, nh, nb) = split(j), split(n)
        assert (code(js), jb, hget(jh, b"content-type")) == (code(ns), nb, hget(nh, b"content-type"))
    j, n = both(pair, b"GET /close HTTP/1.1\r\nHost: compat.test\r\n\r\n")
    assert j == n == b""
    for host in (b"compat.test", b"Other.Test.", b"x.test:1234"):
        for path in (b"/redirect", b"/redirect-abs"):
            j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: " + host +
                        b"\r\nConnection: close\r\n\r\n")
            (js, jh, _), (ns, nh, _) = split(j), split(n)
            assert code(js) == code(ns)
            assert [norm(v, pair) for v in hget(jh, b"location")] == \
                [norm(v, pair) for v in hget(nh, b"location")], (host, path)
    # HTTP/1.0 without Host: the address the client connected to
    j, n = both(pair, b"GET /redirect HTTP/1.0\r\n\r\n")
    assert norm(hget(split(j)[1], b"location")[0], pair) == \
        norm(hget(split(n)[1], b"location")[0], pair) == b"http://127.0.0.1:PORT/elsewhere?x=1"


def test_body_of_a_local_answer_is_discarded(pair):
    """6: the body sent to a return location is read and dropped, and the
    pipelined request after it is answered; a malformed chunked body gets 400."""
    tail = b"GET /ok HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n"
    for body_req in (b"POST /text HTTP/1.1\r\nHost: compat.test\r\nContent-Length: 5\r\n\r\nhello",
                     b"POST /text HTTP/1.1\r\nHost: compat.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n"):
        j, n = both(pair, body_req + tail)
        statuses = [re.findall(rb"HTTP/1.1 (\d+)", x) for x in (j, n)]
        assert statuses[0] == statuses[1] and len(statuses[0]) == 2, (j, n)
    bad = b"POST /text HTTP/1.1\r\nHost: compat.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    j, n = both(pair, bad + tail)
    assert re.findall(rb"HTTP/1.1 (\d+)", j) == re.findall(rb"HTTP/1.1 (\d+)", n) == [b"400"]


def test_body_arriving_after_the_answer_is_discarded(pair):
    """6: the body comes in pieces after the answer went out; the next
    request on the connection is still answered."""
    for port in pair[:2]:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"POST /text HTTP/1.1\r\nHost: compat.test\r\nContent-Length: 10\r\n\r\nab")
            first = s.recv(65536)
            assert first.startswith(b"HTTP/1.1 404")
            time.sleep(0.1)
            s.sendall(b"cdefghij" + b"GET /ok HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
            rest = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            assert rest.startswith(b"HTTP/1.1 200"), (port, rest)


def test_host_checks(pair):
    """7: empty host, an empty label, a lone dot: 400; a trailing dot is
    stripped from $host."""
    for host in (b"", b"example..com", b".", b"a..", b":80"):
        j, n = both(pair, b"GET /ok HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert split(j)[0] == split(n)[0] == b"HTTP/1.1 400 Bad Request" or \
            (split(j)[0][:12] == split(n)[0][:12] == b"HTTP/1.1 400"), host
    for host in (b"compat.test.", b"Compat.Test", b".compat.test", b"compat.test.:99"):
        j, n = both(pair, b"GET /ok HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert hget(split(j)[1], b"x-host") == hget(split(n)[1], b"x-host"), host


def test_request_targets(pair):
    """8: invalid percent-encoding in the path is refused; a fragment is
    dropped before the request goes upstream."""
    for target in (b"/up/a%zz", b"/up/a%4", b"/up/%"):
        j, n = both(pair, b"GET " + target + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        assert split(j)[0][:12] == split(n)[0][:12] == b"HTTP/1.1 400", target
    for target in (b"/up/a#frag", b"/up/a?x=%zz", b"/uri/b#frag"):
        j, n = both(pair, b"GET " + target + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        assert split(j)[0] == split(n)[0] == b"HTTP/1.1 200 OK", target
        # nginx 1.22 passes the fragment on when proxy_pass has no URI and
        # drops it otherwise; jern never sends one upstream (RFC 9112 3.2)
        assert split(j)[2] == target.replace(b"/uri/", b"/up/").split(b"#")[0].join([b"path=", b""])


def test_trace_and_connect_are_not_proxied(pair):
    """9: TRACE gets 405 as in nginx; CONNECT gets 405 (nginx 1.25 and later;
    1.22 here says 400): neither reaches the backend."""
    before = len(pair[2].received)
    j, n = both(pair, b"TRACE /up/a HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
    assert split(j)[0][:12] == split(n)[0][:12] == b"HTTP/1.1 405"
    j, n = both(pair, b"CONNECT compat.test:443 HTTP/1.1\r\nHost: compat.test:443\r\n\r\n")
    assert split(j)[0][:12] == b"HTTP/1.1 405"
    assert split(n)[0][:10] == b"HTTP/1.1 4"
    time.sleep(0.1)
    assert len(pair[2].received) == before


@pytest.mark.parametrize("name", [b"Authorization", b"If-Modified-Since", b"If-Unmodified-Since",
                                  b"If-Match", b"If-None-Match", b"Content-Range", b"If-Range",
                                  b"Expect", b"Transfer-Encoding"])
def test_repeated_single_headers(pair, name):
    """10: a header that may appear once, repeated: 400 (nginx 1.23 and later
    for most of these; 1.22 here refuses the repeated Transfer-Encoding and
    If-Modified-Since only, and is asked just for those)."""
    value = b"chunked" if name == b"Transfer-Encoding" else b"x"
    req = (b"POST /up/a HTTP/1.1\r\nHost: compat.test\r\n" + name + b": " + value + b"\r\n" +
           name + b": " + value + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    if name == b"Transfer-Encoding":
        req = req.replace(b"Content-Length: 0\r\n", b"") + b"0\r\n\r\n"
    j, n = both(pair, req)
    assert split(j)[0][:12] == b"HTTP/1.1 400", j
    if name in (b"Transfer-Encoding", b"If-Modified-Since"):
        assert split(n)[0][:12] == b"HTTP/1.1 400", n


def test_upstream_headers_expires_location_refresh(pair):
    """11, 14: the first Expires only (nginx 1.23+; 1.22 here passes both);
    Location/Refresh naming the backend rewritten by proxy_redirect default,
    off, or an explicit rule; a relative Location made absolute."""
    j, n = both(pair, b"GET /up/a HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
    assert hget(split(j)[1], b"expires") == [b"Thu, 01 Jan 2037 00:00:00 GMT"]
    for path in (b"/up/redir", b"/uri/redir", b"/off/redir", b"/explicit/redir", b"/up/relative"):
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        (js, jh, _), (ns, nh, _) = split(j), split(n)
        assert code(js) == code(ns)
        for h in (b"location", b"refresh"):
            assert [norm(v, pair) for v in hget(jh, h)] == [norm(v, pair) for v in hget(nh, h)], \
                (path, h, hget(jh, h), hget(nh, h))


def test_next_upstream_404_with_a_down_peer(pair):
    """12: proxy_next_upstream http_404 and the only other peer is down: the
    404 is relayed, not a 502."""
    j, n = both(pair, b"GET /next/missing HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
    assert code(split(j)[0]) == code(split(n)[0]) == b"HTTP/1.1 404"
    assert split(j)[2] == split(n)[2]


def test_add_header_and_bytes_sent(pair, tmp_path):
    """add_header (always or not, by status) as nginx; 13: $bytes_sent is
    head + body, what the client received."""
    got = {}
    for path in (b"/ok", b"/text", b"/up/a", b"/up/missing"):
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        for name in (b"x-host", b"x-ok"):
            assert hget(split(j)[1], name) == hget(split(n)[1], name), (path, name)
        got[path] = len(j)
    deadline = time.time() + 3
    log = pair[3]["jern"] / "access.log"
    while time.time() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= 4:
            break
        time.sleep(0.1)
    for line in lines:
        req, status, sent, body = line.split("|")[:4]
        path = req.split(" ")[1].encode()
        assert int(sent) == got[path], line
        assert int(body) < int(sent)


def test_regex_locations_and_server_names(pair):
    """Regex server_name and location ~ / ~* / ^~ / = in nginx's order."""
    cases = [(b"regex.test", b"/"), (b"www.regex.test", b"/a.PNG"), (b"regex.test", b"/static/a.png"),
             (b"regex.test", b"/api/v2/x"), (b"regex.test", b"/api/x"), (b"regex.test", b"/x.png"),
             (b"regex.test", b"/x.png?y=1"), (b"api7.regex.test", b"/api/v1/"), (b"wwwregex.test", b"/ok"),
             (b"regex.test", b"/a/re/b?q=1")]
    for host, path in cases:
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert (code(split(j)[0]), split(j)[2]) == (code(split(n)[0]), split(n)[2]), (host, path, j, n)


def test_rewrite_and_if_redirects(pair):
    """rewrite ... redirect|permanent (captures, the request's arguments kept
    unless the replacement ends with '?', an absolute replacement redirects
    without a flag) and if ($var), =, !=, ~* with a capture, at server and
    location level, in file order, a return before a rewrite winning."""
    cases = [(b"GET", b"www.rw.test", b"/a/b?z=1", b""), (b"GET", b"rw.test", b"/old/x/y?z=1", b""),
             (b"GET", b"rw.test", b"/q/hello?z=1", b""), (b"GET", b"rw.test", b"/keep/a?z=1", b""),
             (b"GET", b"rw.test", b"/abs/p?z=1", b""), (b"GET", b"rw.test", b"/plain", b""),
             (b"DELETE", b"rw.test", b"/api/x", b""),
             (b"GET", b"rw.test", b"/api/x", b"User-Agent: GoogleBot/2.1\r\n"),
             (b"GET", b"rw.test", b"/api/x", b"X-Flag: 1\r\n"),
             (b"GET", b"rw.test", b"/api/x?y=2", b"X-Flag: 0\r\n"),
             (b"GET", b"rw.test", b"/api/v1/u?id=3", b"X-Env: prod\r\n"),
             (b"GET", b"rw.test", b"/api/v2/u", b"X-Env: prod\r\n"),
             (b"GET", b"rw.test", b"/gone", b""), (b"HEAD", b"rw.test", b"/old/h", b""),
             (b"GET", b"rw.test", b"/m", b"X-Mode: slow\r\n"), (b"GET", b"rw.test", b"/m", b"X-Mode: slowly\r\n")]
    for method, host, path, extra in cases:
        j, n = both(pair, method + b" " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra +
                    b"Connection: close\r\n\r\n")
        (js, jh, jb), (ns, nh, nb) = split(j), split(n)
        assert code(js) == code(ns), (path, js, ns)
        assert [norm(v, pair) for v in hget(jh, b"location")] == \
            [norm(v, pair) for v in hget(nh, b"location")], (path, j, n)
        if not js.startswith(b"HTTP/1.1 3") and not js.startswith(b"HTTP/1.1 4"):
            assert jb == nb, (path, jb, nb)
        elif js.startswith(b"HTTP/1.1 403"):
            assert jb == nb == b"no Bots here\n", (jb, nb)


def test_static_files_root_alias_index_try_files(pair):
    """root, alias, index, try_files (a file, a directory, =404, a fallback
    URI), types and default_type, a directory without its slash (301), one
    without an index (403), escapes and dot segments, HEAD, POST (405), and
    Last-Modified / ETag with the 304s they allow: as nginx answers."""
    paths = [b"/", b"/index.html", b"/app.css", b"/sub", b"/sub/?a=1", b"/emptydir/", b"/nope",
             b"/noext", b"/big.bin", b"/assets/a.js", b"/assets/", b"/spa/real.js", b"/spa/x/y",
             b"/spa/", b"/strict/ok.txt", b"/strict/nope", b"/%61pp.css", b"/sub/../app.css",
             b"/space%20name.html", b"//sub//index.html", b"/up/proxied", b"/app.css?v=3"]
    for method in (b"GET", b"HEAD"):
        for path in paths:
            j, n = both(pair, method + b" " + path + b" HTTP/1.1\r\nHost: static.test\r\n"
                        b"Connection: close\r\n\r\n")
            (js, jh, jb), (ns, nh, nb) = split(j), split(n)
            assert code(js) == code(ns), (method, path, js, ns)
            for h in (b"location", b"content-type", b"etag", b"last-modified"):
                assert [norm(v, pair) for v in hget(jh, h)] == [norm(v, pair) for v in hget(nh, h)], \
                    (method, path, h, jh, nh)
            if js.startswith(b"HTTP/1.1 200"):
                assert jb == nb, (method, path, len(jb), len(nb))
                assert hget(jh, b"content-length") == hget(nh, b"content-length"), path
    j = raw(pair[0], b"GET /app.css HTTP/1.1\r\nHost: static.test\r\nConnection: close\r\n\r\n")
    etag, lm = hget(split(j)[1], b"etag")[0], hget(split(j)[1], b"last-modified")[0]
    for cond in (b"If-None-Match: " + etag, b"If-Modified-Since: " + lm, b"If-None-Match: \"x\""):
        j, n = both(pair, b"GET /app.css HTTP/1.1\r\nHost: static.test\r\n" + cond +
                    b"\r\nConnection: close\r\n\r\n")
        assert code(split(j)[0]) == code(split(n)[0]), (cond, j, n)
    # methods a file does not take, and a path climbing out of the root
    for req in (b"POST /app.css HTTP/1.1\r\nHost: static.test\r\nContent-Length: 2\r\n"
                b"Connection: close\r\n\r\nab", b"GET /../etc/passwd HTTP/1.1\r\nHost: "
                b"static.test\r\nConnection: close\r\n\r\n", b"GET /%2e%2e/%2e%2e/etc/passwd "
                b"HTTP/1.1\r\nHost: static.test\r\nConnection: close\r\n\r\n"):
        j, n = both(pair, req)
        assert code(split(j)[0]) == code(split(n)[0]), (req, j, n)
        assert b"root:" not in j


def test_static_file_keep_alive_and_pipelining(pair):
    """Three pipelined requests on one connection: a big file (many pieces
    of the write loop), a small one, a 404; each whole and in order."""
    big = bytes(range(256)) * 1200
    req = b"".join(b"GET " + p + b" HTTP/1.1\r\nHost: static.test\r\n\r\n"
                   for p in (b"/big.bin", b"/app.css")) + \
        b"GET /nope HTTP/1.1\r\nHost: static.test\r\nConnection: close\r\n\r\n"
    out = raw(pair[0], req, timeout=10)
    first, _, rest = out.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200") and rest[:len(big)] == big, first
    rest = rest[len(big):]
    assert rest.startswith(b"HTTP/1.1 200") and b"\r\n\r\nbody{}\n" in rest, rest[:300]
    assert rest.split(b"body{}\n", 1)[1].startswith(b"HTTP/1.1 404"), rest[:400]


def test_static_file_truncated_while_sent(pair, tmp_path):
    """A file cut short while it is sent (its Content-Length can no longer
    be kept): the client sees the connection end before that length, never
    a hang, and the worker goes on answering."""
    big = tmp_path / "site" / "www" / "grows.bin"
    size = 64 << 20
    with open(big, "wb") as f:
        f.truncate(size)
    with socket.create_connection(("127.0.0.1", pair[0]), timeout=10) as s:
        s.sendall(b"GET /grows.bin HTTP/1.1\r\nHost: static.test\r\n\r\n")
        got = s.recv(4096)
        assert got.startswith(b"HTTP/1.1 200") and b"Content-Length: %d" % size in got, got[:300]
        with open(big, "r+b") as f:
            f.truncate(1 << 20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
        else:
            raise AssertionError("the connection stayed open after the file was cut short")
    assert len(got) < size, len(got)
    j = raw(pair[0], b"GET /app.css HTTP/1.1\r\nHost: static.test\r\nConnection: close\r\n\r\n")
    assert j.startswith(b"HTTP/1.1 200") and j.endswith(b"body{}\n"), j


def test_error_page_and_intercept_errors(pair):
    """error_page to a return location (status kept, "=CODE", "="), to a URL
    (302, or "=301"); a return with a text is no error; upstream errors go
    through error_page only with proxy_intercept_errors on."""
    for path in (b"/ep/404", b"/ep/500", b"/ep/403", b"/ep/301", b"/ep/eq", b"/ep/text",
                 b"/ie/missing", b"/ie/fine", b"/noie/missing"):
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: compat.test\r\nConnection: close\r\n\r\n")
        (js, jh, jb), (ns, nh, nb) = split(j), split(n)
        assert code(js) == code(ns), (path, js, ns)
        assert hget(jh, b"location") == hget(nh, b"location"), path
        if not js.startswith(b"HTTP/1.1 3"):
            assert jb == nb, (path, jb, nb)


def test_map_and_set(pair):
    """map (exact, ~, ~*, default with a variable, '' key) and set, per
    location, as nginx evaluates them."""
    for path, extra in ((b"/vars/a", b""), (b"/vars/img/x", b""), (b"/vars/x/y.css", b""),
                        (b"/vars/zz", b"Upgrade: websocket\r\n"), (b"/vars/silver/q", b"")):
        j, n = both(pair, b"GET " + path + b" HTTP/1.1\r\nHost: compat.test\r\n" + extra +
                    b"Connection: close\r\n\r\n")
        (js, jh, jb), (ns, nh, nb) = split(j), split(n)
        assert (code(js), jb, hget(jh, b"x-conn")) == (code(ns), nb, hget(nh, b"x-conn")), (path, j, n)


def test_proxy_pass_variable_method_headers_and_upstream_vars(pair):
    """proxy_pass http://$var (naming an upstream block), proxy_method,
    proxy_pass_request_headers off, and $upstream_connect_time,
    $upstream_header_time, $upstream_response_length in the log."""
    for extra in (b"", b"X-To: down\r\n"):
        j, n = both(pair, b"GET /dyn/x HTTP/1.1\r\nHost: compat.test\r\n" + extra +
                    b"Connection: close\r\n\r\n")
        assert (code(split(j)[0]), split(j)[2]) == (code(split(n)[0]), split(n)[2]) == \
            (b"HTTP/1.1 200", b"path=/dyn/x"), (j, n)
    be = pair[2]
    for port in pair[:2]:
        start = len(be.received)
        out = raw(port, b"POST /pm/y HTTP/1.1\r\nHost: compat.test\r\nX-Secret: s\r\n"
                        b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
        assert split(out)[0][:12] == b"HTTP/1.1 200"
        sent = be.received[start]
        assert sent.startswith(b"PUT /pm/y HTTP/1."), sent
        assert b"X-Secret" not in sent and b"Content-Length: 2\r\n" in sent, sent
    log = pair[3]["jern"] / "access.log"
    deadline = time.time() + 3
    byreq = {}
    while time.time() < deadline and "/pm/y" not in byreq:
        lines = log.read_text().splitlines() if log.exists() else []
        byreq = {ln.split(" ")[1]: ln.split("|")[4:] for ln in lines}
        time.sleep(0.1)
    connect, header, length = byreq["/pm/y"]
    assert re.fullmatch(r"\d+\.\d{3}", connect) and re.fullmatch(r"\d+\.\d{3}", header)
    assert length == str(len(b"path=/pm/y"))


REALISTIC = r"""
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; multi_accept on; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    server_tokens off;
    server_names_hash_bucket_size 64;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" $status '
                    '$body_bytes_sent "$http_referer" rt=$request_time uct=$upstream_connect_time '
                    'uht=$upstream_header_time url=$upstream_response_length';
    access_log {dir}/access.log main;
    keepalive_timeout 65;
    keepalive_time 1h;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    map $http_x_canary $api_pool {{ default api; "1" api_canary; }}
    upstream api {{ server 127.0.0.1:{be}; keepalive 16; }}
    upstream api_canary {{ server 127.0.0.1:{be}; server 127.0.0.1:{dead} down; }}
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name _;
        return 444;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name www.shop.test;
        return 301 https://shop.test$request_uri;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name shop.test ~^shop-[a-z0-9]+\.preview\.test$;
        add_header X-Frame-Options SAMEORIGIN always;
        add_header Strict-Transport-Security "max-age=31536000" always;
        error_page 500 502 503 504 /50x.html;
        location = /50x.html {{ return 503 "maintenance\n"; }}
        location = /healthz {{ access_log off; default_type text/plain; return 200 "ok\n"; }}
        location ~* \.(js|css|png|svg)$ {{
            add_header Cache-Control "public, max-age=86400";
            proxy_pass http://api;
        }}
        location /api/ {{
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_buffer_size 16k;
            proxy_buffers 4 16k;
            proxy_read_timeout 30s;
            proxy_intercept_errors on;
            proxy_pass http://$api_pool;
        }}
        location /old/ {{ proxy_pass http://api/up/; proxy_redirect default; }}
        location / {{ proxy_pass http://api; }}
    }}
}}
"""


def test_realistic_nginx_conf_loads_and_serves(tmp_path):
    """A reverse-proxy nginx.conf of the kind people deploy (several servers,
    map, regex server name and location, add_header, error_page, upstream
    keepalive, buffering and temp-path directives) passes `jern gateway -t`
    and serves as nginx does with the same file."""
    be = RawBackend(backend_answer)
    make_site(tmp_path / "site")
    dead = free_port()
    jport, nport = free_port(), free_port()
    procs = []
    try:
        for name, port in (("jern", jport), ("nginx", nport)):
            d = tmp_path / name
            d.mkdir()
            (d / "nginx.conf").write_text(REALISTIC.format(dir=d, port=port, be=be.port, dead=dead))
        check = subprocess.run([JERN, "gateway", "-t", "-c", tmp_path / "jern" / "nginx.conf"],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        assert "test is successful" in check.stderr
        procs.append(Proc([JERN, "gateway", "-c", tmp_path / "jern" / "nginx.conf"], tmp_path / "j.log"))
        procs.append(Proc(["nginx", "-p", tmp_path / "nginx", "-c", tmp_path / "nginx" / "nginx.conf"],
                          tmp_path / "n.log"))
        wait_port(jport)
        wait_port(nport)
        p = (jport, nport)
        cases = [(b"shop.test", b"/healthz", b""), (b"shop.test", b"/api/items?x=1", b""),
                 (b"shop.test", b"/api/missing", b""), (b"shop.test", b"/app.CSS", b""),
                 (b"shop.test", b"/up/redir", b""), (b"shop.test", b"/old/redir", b""),
                 (b"shop-pr42.preview.test", b"/x", b""), (b"www.shop.test", b"/a?b=c", b""),
                 (b"unknown.test", b"/", b""), (b"shop.test", b"/api/c", b"X-Canary: 1\r\n")]
        for host, path, extra in cases:
            req = b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra + \
                b"Connection: close\r\n\r\n"
            j, n = both(p, req)
            if n == b"":
                assert j == b"", (host, path, j)
                continue
            (js, jh, jb), (ns, nh, nb) = split(j), split(n)
            assert code(js) == code(ns), (host, path, js, ns)
            assert jb == nb or js.startswith(b"HTTP/1.1 3"), (host, path, jb, nb)
            for h in (b"x-frame-options", b"strict-transport-security", b"cache-control",
                      b"content-type"):
                assert hget(jh, h) == hget(nh, h), (host, path, h)
            assert [norm(v, p) for v in hget(jh, b"location")] == \
                [norm(v, p) for v in hget(nh, b"location")], (host, path)
    finally:
        for proc in procs:
            proc.stop()
        be.close()
