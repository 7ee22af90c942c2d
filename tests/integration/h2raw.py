"""HTTP/2 frames written by hand for the attack tests (Debian's python3 has
no h2 module): a frame is a 9-byte header and a payload, and a request's
header block needs only HPACK's static table and literals."""
import socket
import ssl
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
INITIAL_WINDOW_SIZE = 0x4


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(
        ">I", sid) + payload


def settings(pairs=()):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def lit(name_index, value):
    """A literal field without indexing, name from the static table."""
    v = value.encode()
    assert len(v) < 127
    return bytes([name_index]) + bytes([len(v)]) + v


def request_block(path="/", authority="localhost"):
    """GET path, scheme http: :method GET (2), :scheme http (6) indexed;
    :path (4) and :authority (1) as literals."""
    return b"\x82\x86" + lit(0x04, path) + lit(0x01, authority)


def get(sid, path="/", end_stream=True):
    return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), sid,
                 request_block(path))


def window_update(sid, inc):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", inc))


def connect(port, tls=False, rcvbuf=None, timeout=5.0, init=None):
    """A connection with the preface and our SETTINGS sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname="localhost")
        assert s.selected_alpn_protocol() == "h2"
    s.sendall(PREFACE + (init if init is not None else settings()))
    return s


class Reader:
    """Frames as they arrive: (type, flags, stream id, payload)."""

    def __init__(self, s, ack=True):
        self.s, self.buf, self.closed, self.ack = s, b"", False, ack

    def next(self, deadline):
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + n:
                    t, f = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    p = self.buf[9:9 + n]
                    self.buf = self.buf[9 + n:]
                    if t == SETTINGS and not f & ACK and self.ack:
                        try:
                            self.s.sendall(frame(SETTINGS, ACK, 0))
                        except OSError:
                            pass  # the server closed after its GOAWAY: still read it
                    return t, f, sid, p
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            except (ConnectionResetError, ssl.SSLError, OSError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def until(self, pred, timeout=5.0):
        """Frames until pred(frame) is true: that frame, or None at close or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.next(deadline)
            if f is None or pred(f):
                return f


def goaway_code(f):
    return struct.unpack(">II", f[3][:8])[1] & 0xFFFFFFFF if f and f[0] == GOAWAY else None


def goaway_last(f):
    return struct.unpack(">I", f[3][:4])[0] & 0x7FFFFFFF
