"""A loopback HTTP server that stands between the app and a tracker and keeps each request:
it forwards to ``upstream`` (Prism serving GitHub's description, which still validates every
request) or, without one, answers every request with ``status`` and ``body``. Tests count
what reached the tracker with it, from this process or from a worker's."""

from __future__ import annotations

import http.server
import json
import threading
from contextlib import contextmanager

import requests


@contextmanager
def recording(port: int, *, upstream: str = "", status: int = 200, body: dict | None = None):
    """Serve on ``port`` while the block runs; yield the list of requests seen, each
    ``{"method", "path", "json", "status"}`` (``status`` is what the app got back)."""
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if upstream:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, upstream + self.path, data=raw, headers=headers, timeout=30)
                code, content = answer.status_code, answer.content
            else:
                code, content = status, json.dumps(body or {}).encode()
            seen.append(
                {"method": self.command, "path": self.path, "json": json.loads(raw) if raw else None, "status": code}
            )
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()
