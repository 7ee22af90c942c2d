#!/usr/bin/python3
"""dbapp.py: a small HTTP app that keeps rows in the database DATABASE_URL
names (pymysql), for jern's database tests. Listens on $HOST:$PORT (HOST
defaults to 127.0.0.1; a cluster node gives its instances 0.0.0.0).

  GET  /health      200 "ok" (does not need the database)
  GET  /db          200 {"database": NAME} when DATABASE_URL works, else 503
  POST /rows?v=X    inserts a row, 201 {"id": N}
  GET  /rows        200 {"count": N, "ids": [...]}
"""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import pymysql

URL = os.environ.get("DATABASE_URL", "")
local = threading.local()


def connect():
    u = urlparse(URL)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=unquote(u.username or ""),
                           password=unquote(u.password or ""), database=u.path.lstrip("/"),
                           autocommit=True, connect_timeout=5, read_timeout=10, write_timeout=10)


def cursor():
    c = getattr(local, "conn", None)
    if c is None:
        c = local.conn = connect()
        with c.cursor() as cur:
            # a read-only server (a database being moved) refuses even this
            # DDL; reads go on
            cur.execute("SHOW TABLES LIKE 'rows_t'")
            if not cur.fetchone():
                cur.execute("CREATE TABLE IF NOT EXISTS rows_t (id INT AUTO_INCREMENT PRIMARY KEY,"
                            " v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
    return c.cursor()


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def with_db(self, fn):
        if not URL:
            return self.reply(503, {"error": "no DATABASE_URL"})
        try:
            with cursor() as cur:
                return fn(cur)
        except pymysql.MySQLError as e:
            local.conn = None
            return self.reply(503, {"error": str(e)})

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/health":
            return self.reply(200, {"ok": True, "database_url": bool(URL)})
        if path == "/db":
            def db(cur):
                cur.execute("SELECT DATABASE()")
                self.reply(200, {"database": cur.fetchone()[0]})
            return self.with_db(db)
        if path == "/rows":
            def rows(cur):
                cur.execute("SELECT id FROM rows_t ORDER BY id")
                ids = [r[0] for r in cur.fetchall()]
                self.reply(200, {"count": len(ids), "ids": ids})
            return self.with_db(rows)
        self.reply(404, {"error": "no such path"})

    def do_POST(self):
        u = urlparse(self.path)
        if u.path != "/rows":
            return self.reply(404, {"error": "no such path"})
        v = parse_qs(u.query).get("v", ["x"])[0][:64]

        def insert(cur):
            cur.execute("INSERT INTO rows_t (v) VALUES (%s)", (v,))
            self.reply(201, {"id": cur.lastrowid})
        return self.with_db(insert)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"),
                               int(os.environ.get("PORT", "8080"))), Handler)
    srv.serve_forever()
