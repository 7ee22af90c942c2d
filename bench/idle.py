"""Idle keep-alive client connections for the memory test.

Opens n connections to 127.0.0.1:port, sends one GET on each and reads its
whole answer, then leaves the connection open and idle. At most `inflight`
connections are between connect and answer at a time, so a proxy's upstream
side stays small and what grows is the per-client-connection state."""
import errno
import select
import socket
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: jern-bench\r\n\r\n"
MAX_ANSWER = 64 * 1024


def _answer_complete(buf):
    """True when buf holds a whole HTTP/1.1 answer (Content-Length or chunked)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buf[:end].decode("latin-1").lower()
    body = len(buf) - (end + 4)
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            return body >= int(value.strip())
        if name.strip() == "transfer-encoding" and "chunked" in value:
            return buf.endswith(b"0\r\n\r\n")
    return True  # no body framing: a 204/304-style answer


class IdleConns:
    """Holds the sockets; close() releases them. Use as a context manager."""

    def __init__(self):
        self.socks = []
        self.answered = 0
        self.failed = 0
        self.first_error = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []

    def _fail(self, s, why):
        self.failed += 1
        if self.first_error is None:
            self.first_error = why
        s.close()

    def open(self, port, n, timeout=30.0, inflight=128):
        """Opens n connections, each answered once; returns self.answered."""
        ep = select.epoll()
        pending = {}  # fd -> [sock, sent?, received bytes]
        opened = 0
        deadline = time.monotonic() + timeout
        try:
            while (opened < n or pending) and time.monotonic() < deadline:
                while opened < n and len(pending) < inflight:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    err = s.connect_ex(("127.0.0.1", port))
                    opened += 1
                    if err not in (0, errno.EINPROGRESS):
                        self._fail(s, f"connect: {errno.errorcode.get(err, err)}")
                        continue
                    ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLIN)
                    pending[s.fileno()] = [s, False, b""]
                for fd, ev in ep.poll(0.2):
                    s, sent, buf = pending[fd]
                    if not sent and ev & select.EPOLLOUT:
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            ep.unregister(fd)
                            del pending[fd]
                            self._fail(s, f"connect: {errno.errorcode.get(err, err)}")
                            continue
                        s.send(REQUEST)  # tiny: fits a fresh socket's buffer
                        pending[fd][1] = True
                        ep.modify(fd, select.EPOLLIN)
                        continue
                    if not ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                        continue
                    try:
                        data = s.recv(MAX_ANSWER)
                    except OSError as e:
                        data, why = b"", f"recv: {e.strerror}"
                    else:
                        why = "closed before a whole answer"
                    if data:
                        buf += data
                        pending[fd][2] = buf
                        if len(buf) <= MAX_ANSWER and not _answer_complete(buf):
                            continue
                    ep.unregister(fd)
                    del pending[fd]
                    if data and buf.startswith(b"HTTP/1.1 200"):
                        self.socks.append(s)
                        self.answered += 1
                    else:
                        self._fail(s, why if not data else f"answer: {buf[:40]!r}")
        finally:
            for s, _, _ in pending.values():
                self._fail(s, "no answer before the deadline")
            ep.close()
        return self.answered

    def still_open(self):
        """How many held connections the proxy has not closed (no EOF, no
        error, no unexpected bytes pending)."""
        ep = select.epoll()
        try:
            for s in self.socks:
                ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            return len(self.socks) - len(ep.poll(0, len(self.socks) + 1))
        finally:
            ep.close()
