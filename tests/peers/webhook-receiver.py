#!/usr/bin/env python3
"""A real webhook receiver on loopback for tests/alarms_e2e.rs (stdlib only).

Answers the first N POSTs (counted over all paths, and over restarts: requests already
in --out count) with --fail-status, every later one with 200, and appends each request
as one JSON line to --out:

  {"t": arrival time (epoch seconds, float), "method": "POST", "path": "/hook",
   "headers": {name: value, ...}            (names as sent; repeated names joined by ", "),
   "body": text (UTF-8, invalid bytes replaced), "body_b64": the raw body, base64,
   "status": the status answered, "seq": 1-based request number}

The line is written and flushed before the answer is sent, so a client that saw the
answer finds its request in the file. Other methods (GET, PUT, ...) are logged the same
way and answered 405 without counting toward --fail-first.

Usage: webhook-receiver.py --port PORT [--fail-first N] [--fail-status S] --out FILE
Prints "listening on 127.0.0.1:PORT" on stderr once the socket is bound.
"""
import argparse
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fail-first", type=int, default=0, metavar="N")
    ap.add_argument("--fail-status", type=int, default=500, metavar="S")
    ap.add_argument("--out", required=True, metavar="FILE")
    args = ap.parse_args()

    lock = threading.Lock()
    # POSTs seen so far, including those of earlier runs on the same file
    posts = seq = 0
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line torn by a kill: ignore
                seq = max(seq, int(rec.get("seq") or 0))
                if rec.get("method") == "POST":
                    posts += 1
    state = {"posts": posts, "seq": seq}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self, counted):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raw = self._read_chunked()
            else:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
            headers = {}
            for k, v in self.headers.items():
                headers[k] = headers[k] + ", " + v if k in headers else v
            with lock:
                if counted:
                    state["posts"] += 1
                    status = args.fail_status if state["posts"] <= args.fail_first else 200
                else:
                    status = 405
                state["seq"] += 1
                rec = {
                    "t": time.time(),
                    "method": self.command,
                    "path": self.path,
                    "headers": headers,
                    "body": raw.decode("utf-8", "replace"),
                    "body_b64": base64.b64encode(raw).decode("ascii"),
                    "status": status,
                    "seq": state["seq"],
                }
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            payload = json.dumps({"status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _read_chunked(self):
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()  # CRLF after the chunk

        def do_POST(self):
            self._handle(True)

        def do_GET(self):
            self._handle(False)

        do_PUT = do_GET
        do_DELETE = do_GET
        do_PATCH = do_GET

        def log_message(self, *a):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
