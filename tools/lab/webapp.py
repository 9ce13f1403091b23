#!/usr/bin/python3
"""The lab victim's web application (runs inside the victim namespace).

  webapp.py --bind ADDR [--port 80] --user NAME --password PW [--log FILE]

Routes:
  GET  /            index with links to the pages, the login form and the search
  GET  /page/N      a page of N KiB of text (N = 1..64), for browsing traffic
  GET  /login       the login form
  POST /login       user=..&pass=..: "Welcome NAME" or "invalid login" (the
                    web brute-force target)
  GET  /search?q=Q  reflects Q into the page unescaped on purpose (the XSS target)
  POST /upload      any body up to 64 MiB, read and dropped: 201 (benign uploads)

One thread per connection (ThreadingHTTPServer), HTTP/1.1 with keep-alive
(a browser's connection carries several requests; a flood opens one per
request), 30 s socket timeout so slow and idle clients end. Lives until killed by
tools/lab/lab.sh down.
"""
import argparse
import hmac
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INDEX = """<html><head><title>nnbpf lab</title></head><body>
<h1>nnbpf lab web server</h1>
<ul>{links}</ul>
<p><a href="/login">log in</a></p>
<form action="/search" method="get"><input name="q"><input type="submit" value="search"></form>
</body></html>
"""

LOGIN = """<html><body><h1>Log in</h1>
<form action="/login" method="post">
user <input name="user"> password <input name="pass" type="password">
<input type="submit" value="log in"></form></body></html>
"""

LOREM = ("nnbpf classifies every flow in the kernel. " * 24)[:1023] + "\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "nnbpf-lab/1"
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):
        if self.server.log:
            self.server.log.write("%s %s\n" % (self.client_address[0], fmt % args))
            self.server.log.flush()

    def reply(self, code, body, ctype="text/html"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            links = "".join('<li><a href="/page/%d">page %d</a></li>' % (i, i) for i in range(1, 17))
            return self.reply(200, INDEX.format(links=links))
        if url.path.startswith("/page/"):
            try:
                n = int(url.path[6:])
            except ValueError:
                n = 0
            if not 1 <= n <= 64:
                return self.reply(404, "<html><body>no such page</body></html>")
            return self.reply(200, "<html><body><pre>%s</pre></body></html>" % (LOREM * n))
        if url.path == "/login":
            return self.reply(200, LOGIN)
        if url.path == "/search":
            q = urllib.parse.parse_qs(url.query).get("q", [""])[0]
            # Deliberately unescaped: the lab's XSS target.
            return self.reply(200, "<html><body><h1>Results for %s</h1><p>nothing found</p></body></html>" % q)
        return self.reply(404, "<html><body>not found</body></html>")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/upload":
            # Benign uploads (lab.sh's upload-http): the whole body is read,
            # counted and dropped; at most 64 MiB.
            try:
                n = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                n = -1
            if not 0 <= n <= 64 << 20:
                return self.reply(413, "<html><body>too large</body></html>")
            got = 0
            while got < n:
                chunk = self.rfile.read(min(65536, n - got))
                if not chunk:
                    break
                got += len(chunk)
            return self.reply(201, "<html><body>stored %d bytes</body></html>" % got)
        try:
            n = min(int(self.headers.get("Content-Length", "0")), 65536)
        except ValueError:
            n = 0
        form = urllib.parse.parse_qs(self.rfile.read(n).decode("utf-8", "replace"))
        if url.path != "/login":
            return self.reply(404, "<html><body>not found</body></html>")
        user = form.get("user", [""])[0]
        pw = form.get("pass", [""])[0]
        if user == self.server.user and hmac.compare_digest(pw.encode(), self.server.password.encode()):
            return self.reply(200, "<html><body>Welcome %s</body></html>" % self.server.user)
        return self.reply(200, "<html><body>invalid login</body></html>")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--log")
    a = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    try:
        srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    except OSError as e:
        sys.stderr.write("webapp.py: error: cannot listen on %s:%d: %s\n" % (a.bind, a.port, e.strerror))
        sys.exit(1)
    srv.user, srv.password = a.user, a.password
    srv.log = open(a.log, "a") if a.log else None
    srv.serve_forever()


if __name__ == "__main__":
    main()
