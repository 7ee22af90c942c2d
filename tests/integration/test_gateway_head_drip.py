"""The gateway re-parses a request head only when new bytes can change the
answer (a '\\n', a crossed limit, a full buffer): a head sent in small pieces
is still read exactly, and limits and garbage are still refused with the
right status."""
import socket
import time

from conftest import raw, read_until_close
from test_gateway import simple_proxy


def send_in_pieces(port, pieces, pause=0.01, timeout=5.0):
    """Sends each piece as its own segment, then reads until the server
    closes (every request here ends the connection) or timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for p in pieces:
            s.sendall(p)
            time.sleep(pause)
        return read_until_close(s, timeout)


def test_head_dripped_byte_by_byte_is_proxied(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    req = b"GET /drip HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nConnection: close\r\n\r\n"
    out = send_in_pieces(port, [req[i:i + 1] for i in range(len(req))], pause=0.002)
    assert out.startswith(b"HTTP/1.1 200"), out[:200]


def test_last_newline_alone_completes_the_head(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = send_in_pieces(port, [req[:-1], req[-1:]], pause=0.2)
    assert out.startswith(b"HTTP/1.1 200"), out[:200]


def test_long_request_line_without_newline_gets_414(procs, tmp_path, testapp):
    # No '\n' ever arrives: the head is parsed again when it crosses the
    # request-line limit (8 KiB), not only when the 16 KiB buffer is full (431).
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    first = b"GET /" + b"a" * 100
    rest = [b"a" * 1000 for _ in range(9)]
    out = send_in_pieces(port, [first] + rest, pause=0.02)
    assert out.startswith(b"HTTP/1.1 414"), out[:200]


def test_garbage_without_newline_is_refused_at_once(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    t0 = time.time()
    out = raw(port, b"\x16\x03\x01\x00\xa5\x01\x00\x00", timeout=5)
    assert out.startswith(b"HTTP/1.1 400"), out[:200]
    assert time.time() - t0 < 4  # answered, not left to the header timeout
