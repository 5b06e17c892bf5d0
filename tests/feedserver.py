"""A real HTTP feed server on 127.0.0.1 for tests: ETag/Last-Modified, gzip, request log."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True
    gzip: bool = True
    modified: str = field(default_factory=lambda: formatdate(usegmt=True))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    accept_encoding: str | None = None


class FeedServer:
    """Serves in-memory feeds; `serve()` sets or replaces what a path returns."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes | str, **options: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path and (status is None or r.status == status))

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.requests.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            route = self.routes.get(path)
        inm = handler.headers.get("If-None-Match")
        ims = handler.headers.get("If-Modified-Since")
        if route is None:
            route = Route(body=b"not found", status=404, content_type="text/plain")
        if route.delay:
            time.sleep(route.delay)
        status = route.status
        not_modified = (
            route.conditional and status == 200 and (inm == route.etag or (inm is None and ims == route.modified))
        )
        if not_modified:
            status = 304
        with self._lock:
            self.requests.append(Request(path, status, inm, ims, handler.headers.get("Accept-Encoding")))
        body = b"" if status == 304 else route.body
        handler.send_response(status)
        if route.conditional:
            handler.send_header("ETag", route.etag)
            handler.send_header("Last-Modified", route.modified)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if body and route.gzip and "gzip" in (handler.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            handler.send_header("Content-Encoding", "gzip")
        if status != 304:
            handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
