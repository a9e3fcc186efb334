"""A small stdlib web service, written the way many are: ThreadingHTTPServer with HTTP/1.1
keep-alive, a slow GET / (8 s of work), a fast GET /ping, and a graceful stop on SIGTERM that lets
the requests in flight finish (non-daemon handler threads, joined by server_close)."""

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORK_SECONDS = float(os.environ.get("WORK_SECONDS", "8"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as every client and proxy expects

    def do_GET(self) -> None:
        if self.path == "/":
            time.sleep(WORK_SECONDS)
            self.reply(200, b"done\n")
        elif self.path == "/ping":
            self.reply(200, b"pong\n")
        else:
            self.reply(404, b"not found\n")

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = False  # a stop waits for the requests in flight


def main() -> None:
    server = Server(("", 8000), Handler)

    def stop(signum: int, frame: object) -> None:
        print("stopping: no new connections, waiting for the requests in flight", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    server.server_close()  # joins every handler thread
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
