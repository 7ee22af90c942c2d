"""A raw-socket backend for black-box tests: it records every byte it receives
(per connection) and answers with whatever bytes the test scripts, including
invalid responses that no real server library would produce."""
import socket
import threading
import time


def read_head(conn, limit=5.0):
    """Reads from conn until a blank line ends a head (or EOF / limit).
    Returns the bytes read (the head and anything after it)."""
    conn.settimeout(0.2)
    data = b""
    deadline = time.time() + limit
    while b"\r\n\r\n" not in data and time.time() < deadline:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


class RawBackend:
    """Listens on 127.0.0.1:<port>. For each connection: reads a request head,
    records it, sets .got, then calls answer(conn, data) (default: a small 200
    with Connection: close) and closes. .received lists the bytes of every
    connection, including connections that sent nothing."""

    def __init__(self, answer=None):
        self.answer = answer or (lambda conn, data: conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"))
        self.received = []
        self.got = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            data = read_head(conn)
            with self.lock:
                self.received.append(data)
            if not data:
                return
            self.got.set()
            try:
                self.answer(conn, data)
            except OSError:
                pass

    def bytes_received(self):
        with self.lock:
            return b"".join(self.received)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class KeepAliveBackend:
    """An HTTP/1.1 keep-alive backend: answers every request on a connection
    with a 200 ("ok from NAME"), optionally after delay_s, and tracks how many
    connections it accepted (.accepts), how many are open now (.open) and how
    many were closed by the peer."""

    def __init__(self, name="ka", delay_s=0.0):
        self.name = name.encode()
        self.delay_s = delay_s
        self.open = 0
        self.accepts = 0
        self.closed_by_peer = 0
        self.requests = 0
        self.got = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.open += 1
                self.accepts += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        with self.lock:
                            self.closed_by_peer += 1
                        return
                    buf += chunk
                _, _, buf = buf.partition(b"\r\n\r\n")  # requests without bodies only
                with self.lock:
                    self.requests += 1
                self.got.set()
                if self.delay_s:
                    time.sleep(self.delay_s)
                body = b"ok from " + self.name + b"\n"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
