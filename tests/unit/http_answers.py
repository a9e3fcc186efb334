"""A real HTTP server on 127.0.0.1 that answers each GET path as a function says: for the adapters
that read Traefik's API, without a Traefik."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Answer = Callable[[str], tuple[int, bytes]]  # path -> (status, body)


@contextmanager
def answering(answer: Answer) -> Iterator[int]:
    """A threaded server answering every GET with `answer(path)`; its port, for the block."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
