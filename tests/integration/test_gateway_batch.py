"""Sends set aside until the end of the worker's batch of events
(src/gateway/batch.c): under many concurrent connections every response
still reaches the client that asked, in order, whole, for plain, pipelined
and body-carrying requests, on one worker so the batches are large."""
import socket
import threading

from test_gateway import simple_proxy

CONNS = 48
ROUNDS = 25


def read_response(s, buf):
    """One HTTP/1.1 response with Content-Length from s; returns (head,
    body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "connection closed mid-head"
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(buf) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed mid-body"
        buf += chunk
    return head, buf[:length], buf[length:]


def client(port, k, errors):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        buf = b""
        for i in range(ROUNDS):
            tag = f"c{k}-r{i}"
            if i % 3 == 0:  # three pipelined requests at once
                reqs = [f"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: {tag}-{j}\r\n\r\n"
                        for j in range(3)]
                s.sendall("".join(reqs).encode())
                for j in range(3):
                    head, body, buf = read_response(s, buf)
                    assert head.startswith(b"HTTP/1.1 200"), head
                    assert f"x-seq: {tag}-{j}\r\n".encode() in body.lower(), (tag, j, body)
            elif i % 3 == 1:  # a body, echoed
                payload = (tag * 200).encode()
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                          % len(payload) + payload)
                head, body, buf = read_response(s, buf)
                assert head.startswith(b"HTTP/1.1 200") and body == payload, (tag, head)
            else:
                s.sendall(f"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: {tag}\r\n\r\n".encode())
                head, body, buf = read_response(s, buf)
                assert f"x-seq: {tag}\r\n".encode() in body.lower(), (tag, body)
        s.close()
    except Exception as e:  # collected: an assert in a thread is not a failure
        errors.append(f"connection {k}: {e!r}")


def test_concurrent_exchanges_each_get_their_own_answer(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    _, port, _ = simple_proxy(procs, tmp_path, [a, b], upstream_extra="keepalive 16;")
    errors = []
    threads = [threading.Thread(target=client, args=(port, k, errors)) for k in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors[:5]
