"""`cloudnet-emu web`: a read-only HTTP server of one running testbed's live picture.

The standard library's ThreadingHTTPServer, one thread per connection, and Server-Sent Events
(text/event-stream) for push: the page needs one-way updates only, every browser speaks SSE
natively and reconnects by itself, and nothing has to be installed.  Only GET is served:

    /                      the page (static/index.html)
    /static/<file>         its script, style and the vendored cytoscape.js (a fixed list)
    /api/graph             the picture now (web/model.py's elements)
    /api/counters          link state and counters now
    /api/node/<id>         one node's facts: namespace, addresses, routes, FDB (kernel/facts.py)
    /events                SSE: `graph` when the picture changes, `counters` once a second,
                           `routing` (control=bgp: daemons and BGP sessions per router) when it changes

Nothing here writes to the testbed; stopping the server leaves nothing behind (no files).
"""
from __future__ import annotations

import json
import os
import queue
import socket
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from ..kernel import facts
from .feed import Feed

STATIC = os.path.join(os.path.dirname(__file__), "static")
FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
         "style.css": "text/css; charset=utf-8", "cytoscape.min.js": "text/javascript; charset=utf-8"}
KEEPALIVE_S = 15


def node_facts(graph: dict, node_id: str) -> Optional[dict]:
    """What `inspect` and the kernel know of one node of the picture (None: no such node)."""
    data = next((n["data"] for n in graph["nodes"] if n["data"]["id"] == node_id), None)
    if data is None:
        return None
    out = {"record": data}
    if data.get("netns"):
        out["kernel"] = facts.node(data["netns"])
    elif data.get("bridge"):
        out["ovs"] = {"bridge": data["bridge"], "ports": facts.ovs_ports(data["bridge"]),
                      "fdb": facts.ovs_fdb(data["bridge"])}
    return out


class Handler(BaseHTTPRequestHandler):
    """One browser request: a static file, a JSON view of the feed (the server's), or its event stream."""

    server_version = "cloudnet-emu-web"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):     # quiet: the terminal shows the address only
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj, default=str).encode(), "application/json")

    @property
    def feed(self) -> Feed:
        return self.server.feed

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlparse(self.path).path)
        if path in ("/", "/index.html"):
            path = "/static/index.html"
        if path.startswith("/static/") and path[len("/static/"):] in FILES:
            name = path[len("/static/"):]
            with open(os.path.join(STATIC, name), "rb") as f:
                self._send(200, f.read(), FILES[name])
        elif path == "/api/graph":
            self._json(self.feed.graph)
        elif path == "/api/counters":
            self._json(self.feed.counters)
        elif path.startswith("/api/node/"):
            got = node_facts(self.feed.graph, path[len("/api/node/"):])
            self._json(got if got is not None else {"error": "no such node"}, 200 if got else 404)
        elif path == "/events":
            self._events()
        else:
            self._json({"error": "not found"}, 404)

    def _refuse(self):
        self._json({"error": "the live view is read-only"}, HTTPStatus.METHOD_NOT_ALLOWED)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def _events(self) -> None:
        q = self.feed.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self._event("graph", self.feed.graph)
            if self.feed.routing:
                self._event("routing", self.feed.routing)
            while not self.feed.stopped():
                try:
                    kind, payload = q.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                self._event(kind, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.feed.unsubscribe(q)
            self.close_connection = True

    def _event(self, kind: str, payload) -> None:
        self.wfile.write(f"event: {kind}\ndata: {json.dumps(payload, default=str)}\n\n".encode())
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True          # open event streams do not hold up Ctrl-C
    allow_reuse_address = True

    def __init__(self, address, feed: Feed):
        self.feed = feed
        super().__init__(address, Handler)


def serve(testbed: str, bind: str, port: int, ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve TESTBED on BIND:PORT until interrupted (KeyboardInterrupt propagates, after cleanup).
    OSError from binding (port in use, address not here) propagates before anything is started."""
    cls = type("Server6", (Server,), {"address_family": socket.AF_INET6}) if ":" in bind else Server
    httpd = cls((bind, port), feed := Feed(testbed))
    try:
        feed.start()
        host, real_port = httpd.server_address[:2]
        ready(f"http://{'[' + host + ']' if ':' in host else host}:{real_port}/")
        httpd.serve_forever(poll_interval=0.2)
    finally:
        feed.stop()
        httpd.server_close()
