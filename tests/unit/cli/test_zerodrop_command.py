"""The `zerodrop` command: its version, the Docker CLI plugin shim, and the probe on a service that
is not the lab's (a stdlib HTTP server answering plain text)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zerodrop import __version__
from zerodrop.cli import main
from zerodrop.cli.plugin import PLUGIN_NAME, install_plugin


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"zerodrop {__version__}"


def test_python_dash_m_zerodrop_is_the_command():
    shown = subprocess.run(
        [sys.executable, "-m", "zerodrop", "--version"], capture_output=True, text=True, check=True
    )
    assert shown.returncode == 0 and shown.stdout.strip() == f"zerodrop {__version__}"


def test_the_plugin_shim_answers_docker_and_passes_the_rest_on(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    shim = install_plugin(command=[sys.executable, "-m", "zerodrop"])
    assert shim == tmp_path / "docker" / "cli-plugins" / PLUGIN_NAME and shim.stat().st_mode & 0o111
    metadata = subprocess.run(
        [str(shim), "docker-cli-plugin-metadata"], capture_output=True, text=True, check=True
    )
    assert json.loads(metadata.stdout)["SchemaVersion"] == "0.1.0"
    assert json.loads(metadata.stdout)["Version"] == __version__
    # Docker runs a plugin with its own name first: `docker zerodrop --version`
    passed = subprocess.run([str(shim), "zerodrop", "--version"], capture_output=True, text=True, check=True)
    assert passed.stdout.strip() == f"zerodrop {__version__}"


class PlainText(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(b"hello\n")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(b"stored\n")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def plain_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlainText)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_loads_any_service_and_counts_a_plain_answer_as_an_answer(tmp_path, capsys):
    with plain_server() as port:
        status = main([
            "probe", "--url", f"http://127.0.0.1:{port}", "--host", "svc.test", "--short-path", "/ping",
            "--write-path", "/orders", "--short-rate", "40", "--write-rate", "20", "--duration", "1",
            "--report", str(tmp_path / "r.json"), "--plot", str(tmp_path / "t.png"),
        ])  # fmt: skip
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    kinds = {r["kind"] for r in report["records"]}
    assert status == 0 and "failed 0" in out and kinds == {"short", "write"}, out
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "zerodrop probe draws its timeline"


def test_the_probe_refuses_any_address_but_loopback(capsys):
    assert main(["probe", "--url", "http://192.0.2.1:80", "--host", "x", "--duration", "1"]) == 2
    assert "only targets 127.0.0.1" in capsys.readouterr().err
