"""A small shop service that is not the lab's app: the standard library's threaded HTTP server, no
drain signal, no /stats, no client in its healthcheck. It finishes the requests it has on SIGTERM.

GET /        a page naming the version and the container that answered
GET /slow    held ?seconds= (at most 30), then answered
POST /orders the order is read and acknowledged
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VERSION = os.environ.get("SHOP_VERSION", "v1")
PORT = int(os.environ.get("SHOP_PORT", "8000"))


class Shop(BaseHTTPRequestHandler):
    """The shop's three endpoints."""

    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection ends after this long, so that after SIGTERM the server exits
    # once its requests are done instead of waiting on connections Traefik keeps open.
    timeout = 2

    def do_GET(self) -> None:
        """The page, or the slow page."""
        url = urlparse(self.path)
        if url.path == "/slow":
            seconds = min(float(parse_qs(url.query).get("seconds", ["5"])[0]), 30.0)
            time.sleep(seconds)
        self._send(200, f"shop {VERSION} from {socket.gethostname()}\n")

    def do_POST(self) -> None:
        """An order: read and acknowledged."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(201, f"order stored by {VERSION}\n")

    def _send(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """No access log."""
        return None


def main() -> None:
    """Serve until SIGTERM, then finish the requests in flight."""
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Shop)
    server.daemon_threads = False  # server_close() waits for the requests in flight
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown).start()  # stop accepting; in-flight ones finish

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()
