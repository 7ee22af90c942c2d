/* ws.c: the WebSocket echo of /ws (RFC 6455), with its SHA-1 and base64. */
#include "testapp.h"

/* ---- SHA-1 and base64, for the WebSocket handshake (RFC 3174, RFC 4648) ---- */

static uint32_t rol(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char block[64];
    for (size_t off = 0; off < total; off += 64) {
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            if (k < len)
                block[i] = msg[k];
            else if (k == len)
                block[i] = 0x80;
            else if (k >= total - 8)
                block[i] = (unsigned char)(((uint64_t)len * 8) >> (8 * (total - 1 - k)));
            else
                block[i] = 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
                   (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* ---- WebSocket echo ---- */

/* Copies exactly n bytes from the connection (buffer first). Returns 0 or -1. */
int read_exact(struct conn *c, void *dst, size_t n)
{
    char *d = dst;
    while (n > 0) {
        if (c->end == c->start && fill(c) <= 0)
            return -1;
        size_t k = c->end - c->start < n ? c->end - c->start : n;
        memcpy(d, c->buf + c->start, k);
        c->start += k;
        d += k;
        n -= k;
    }
    return 0;
}

static int ws_frame_head(unsigned char *h, int fin, int opcode, uint64_t len)
{
    int n = 0;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        h[n++] = (unsigned char)len;
    } else if (len <= 0xFFFF) {
        h[n++] = 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)(len >> (8 * i));
    }
    return n;
}

/* Echoes frames until close or error. Data frames are streamed back unmasked, with
 * their opcode and FIN bit, so fragmented messages come back fragmented the same way. */
static void ws_echo(struct conn *c)
{
    char chunk[16384];
    for (;;) {
        unsigned char h[14];
        if (read_exact(c, h, 2) < 0)
            return;
        int fin = h[0] & 0x80, opcode = h[0] & 0x0F, masked = h[1] & 0x80;
        uint64_t len = h[1] & 0x7F;
        if ((h[0] & 0x70) || !masked) /* no extensions; clients must mask (RFC 6455 5.1) */
            goto protocol_error;
        if (len == 126) {
            if (read_exact(c, h, 2) < 0)
                return;
            len = (uint64_t)h[0] << 8 | h[1];
        } else if (len == 127) {
            if (read_exact(c, h, 8) < 0)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[i];
        }
        unsigned char mask[4];
        if (read_exact(c, mask, 4) < 0)
            return;
        int control = opcode & 0x8;
        if (control && (len > 125 || !fin))
            goto protocol_error;
        if (opcode != 0 && opcode != 1 && opcode != 2 && opcode != 8 && opcode != 9 && opcode != 10)
            goto protocol_error;
        if (control) {
            unsigned char payload[125], out[2 + 125];
            if (read_exact(c, payload, (size_t)len) < 0)
                return;
            for (uint64_t i = 0; i < len; i++)
                payload[i] ^= mask[i & 3];
            if (opcode == 10) /* pong: nothing to do */
                continue;
            int reply = opcode == 9 ? 10 : 8;
            out[0] = (unsigned char)(0x80 | reply);
            out[1] = (unsigned char)len;
            memcpy(out + 2, payload, (size_t)len);
            if (write_all(c->fd, out, 2 + (size_t)len) < 0 || opcode == 8)
                return;
            continue;
        }
        int hl = ws_frame_head(h, fin, opcode, len);
        if (write_all(c->fd, h, (size_t)hl) < 0)
            return;
        uint64_t off = 0;
        while (off < len) {
            size_t k = len - off < sizeof(chunk) ? (size_t)(len - off) : sizeof(chunk);
            if (read_exact(c, chunk, k) < 0)
                return;
            for (size_t i = 0; i < k; i++)
                chunk[i] ^= (char)mask[(off + i) & 3];
            if (write_all(c->fd, chunk, k) < 0)
                return;
            off += k;
        }
    }
protocol_error : {
    static const unsigned char close1002[] = {0x88, 2, 0x03, 0xEA};
    write_all(c->fd, close1002, sizeof(close1002));
}
}

int handle_ws(struct conn *c, struct req *r)
{
    if (!r->upgrade_ws)
        return respond_text(c, r, 400, "/ws needs a WebSocket upgrade request\n");
    char cat[128];
    unsigned char digest[20];
    char accept[32];
    int n = snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", r->ws_key);
    sha1((unsigned char *)cat, (size_t)n, digest);
    base64(digest, 20, accept);
    char h[256];
    n = snprintf(h, sizeof(h),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-App: %s\r\n\r\n",
                 accept, app_name);
    if (n >= (int)sizeof(h) || write_all(c->fd, h, (size_t)n) < 0)
        return -1;
    ws_echo(c);
    return -1; /* the connection is done either way */
}
