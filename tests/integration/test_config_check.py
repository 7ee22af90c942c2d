"""`jern gateway -t -c FILE`: exit 0 on a good file; on a bad one, exit 1 with
`FILE:LINE: what is wrong` as the first line of stderr. Runs the real binary
on real files (includes and globs resolved on disk)."""
import subprocess
from pathlib import Path

import pytest

from conftest import JERN, ROOT


def check(path):
    return subprocess.run([JERN, "gateway", "-t", "-c", str(path)], capture_output=True,
                          text=True, timeout=20)


def test_seed_config_checks_ok():
    r = check(ROOT / "tests" / "data" / "seed.conf")
    assert r.returncode == 0, r.stderr
    assert "test is successful" in r.stderr


def test_stock_nginx_style_file_with_include_globs(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "mime.types").write_text("types {\n  text/html html htm;\n  application/json json;\n}\n")
    (tmp_path / "conf.d" / "10-upstream.conf").write_text(
        "upstream app {\n  server 127.0.0.1:9001 weight=2;\n  server 127.0.0.1:9002 backup;\n"
        "  keepalive 16;\n}\n")
    (tmp_path / "conf.d" / "20-site.conf").write_text(
        "server {\n  listen 127.0.0.1:18080 default_server;\n  server_name example.test;\n"
        "  location = /health { return 200 'ok'; }\n"
        "  location / { proxy_pass http://app; include ../proxy_params; }\n}\n")
    (tmp_path / "proxy_params").write_text(
        "proxy_set_header Host $host;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
    main = tmp_path / "nginx.conf"
    main.write_text(
        "worker_processes auto;\nevents {\n  worker_connections 768;\n  multi_accept on;\n}\n"
        "http {\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n  server_tokens off;\n"
        "  keepalive_timeout 65;\n  include mime.types;\n  default_type application/octet-stream;\n"
        "  access_log off;\n  include conf.d/*.conf;\n  include sites-enabled/*;\n}\n")
    r = check(main)
    assert r.returncode == 0, r.stderr


BAD = [
    ("http {\n  upstream a {\n    least_con;\n    server 127.0.0.1:1;\n  }\n}\n",
     '{f}:3: unknown directive "least_con" (did you mean "least_conn"?)'),
    ("events {\n}\nhttp {\n  server {\n    server {\n    }\n  }\n}\n",
     '{f}:5: "server" directive is not allowed here'),
    ("http {\n  upstream api {\n    server backend.internal:8080;\n  }\n}\n",
     '{f}:3: host name "backend.internal:8080" in upstream "api" is not supported: jern never '
     "blocks on DNS; use an IP address, localhost or unix:/path"),
    ("http {\n  server {\n    location ~ \"(\" {\n    }\n  }\n}\n",
     '{f}:3: location: invalid regular expression "(": missing closing parenthesis at offset 1'),
    ("http {\n  server {\n    listen 18081;\n    location / {\n      proxy_pass https://127.0.0.1;\n"
     "    }\n  }\n}\n",
     '{f}:5: "proxy_pass https://127.0.0.1": https upstreams are not supported yet; use http:// '
     "to a backend on a trusted network"),
    ("http {\n  server { listen 18082 default_server; }\n  server { listen 18082 default_server; }\n}\n",
     "{f}:3: a duplicate default server for 0.0.0.0:18082 (the first is the server on line 2)"),
    ("http {\n  server {\n    listen 18083;\n", '{f}:4: unexpected end of file, expecting "}" '
     "(block opened on line 2)"),
    ("http {\n  server {\n    location / { proxy_pass http://api; }\n  }\n}\n",
     '{f}:3: no upstream "api" for "proxy_pass http://api", and jern never resolves host names: '
     "define upstream api { server IP:PORT; } in the http block, or use an IP address"),
    ("worker_processes many;\n",
     '{f}:1: invalid value "many" in "worker_processes" directive: expected "auto" or a number '
     "from 1 to 1024"),
    ("http {\n  proxy_read_timeout 5 10;\n}\n",
     '{f}:2: invalid number of arguments in "proxy_read_timeout" directive'),
]


@pytest.mark.parametrize("text,want", BAD, ids=[w.split(": ", 1)[1][:40] for _, w in BAD])
def test_bad_config_names_file_line_and_fix(tmp_path, text, want):
    f = tmp_path / "jern.conf"
    f.write_text(text)
    r = check(f)
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines()[0] == want.replace("{f}", str(f))


def test_error_inside_included_file_names_that_file(tmp_path):
    (tmp_path / "sites").mkdir()
    inc = tmp_path / "sites" / "api.conf"
    inc.write_text("server {\n  listen 18084;\n  location / {\n    proxy_pas http://127.0.0.1:1;\n  }\n}\n")
    main = tmp_path / "jern.conf"
    main.write_text("http {\n  include sites/*.conf;\n}\n")
    r = check(main)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == \
        f'{inc}:4: unknown directive "proxy_pas" (did you mean "proxy_pass"?)'


def test_missing_and_unreadable_files(tmp_path):
    r = check(tmp_path / "absent.conf")
    assert r.returncode == 1
    assert f"{tmp_path / 'absent.conf'}: cannot read the configuration: No such file or directory" \
        in r.stderr
    main = tmp_path / "jern.conf"
    main.write_text("http {\n\n  include nothere.conf;\n}\n")
    r = check(main)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == (
        f'{main}:3: cannot read included file "{tmp_path}/nothere.conf": No such file or directory')
