"""The anchor of a replaceable Traefik (docker-compose.proxy-anchor.yml, docs/proxy-rollout.md).

It runs as PID 1 of the container whose network namespace Traefik joins, and holds that namespace,
its published ports and its networks while Traefiks come and go. It does one more thing: on each
client port (ANCHOR_PORTS, e.g. "80 443"), once a Traefik listens there with reusePort, it attaches
a one-instruction classic BPF program to that port's reuseport group that hands every new
connection to the group's first listener, the oldest Traefik. The kernel's default spreads new
connections over every listener of the group by hash; with the program a second Traefik started
beside the first gets none of them while it loads its routes (a Traefik answers 404 until its
providers have loaded: traefik#7347), and gets all of them once the first closes its listener
(the kernel moves the last listener into the first's place).

It attaches the program by joining the group for a moment (a socket bound like Traefik's:
AF_INET6 `[::]:PORT`, dual-stack, SO_REUSEPORT, the same user), setting SO_ATTACH_REUSEPORT_CBPF,
and closing the socket again: the program stays with the group for as long as one listener is in
it, so the anchor joins again only when a port goes from no listener to one (a Traefik recreated
by other means). Standard library only; the port list is read from the environment."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time

SO_ATTACH_REUSEPORT_CBPF = 51  # <asm-generic/socket.h>, Linux 4.5+
BPF_RET_K = 0x06  # BPF_RET | BPF_K: return the constant, here the index of the first socket
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*
POLL_SECONDS = 0.1


class SockFilter(ctypes.Structure):
    """struct sock_filter."""

    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class SockFprog(ctypes.Structure):
    """struct sock_fprog."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


FIRST_LISTENER = (SockFilter * 1)(SockFilter(BPF_RET_K, 0, 0, 0))


def listeners(port: int) -> set[str]:
    """The inodes of the sockets listening on the port in this network namespace."""
    found: set[str] = set()
    for table in ("/proc/net/tcp6", "/proc/net/tcp"):
        try:
            with open(table, encoding="ascii") as rows:
                next(rows)
                for row in rows:
                    cells = row.split()
                    if cells[3] == LISTEN and int(cells[1].rsplit(":", 1)[1], 16) == port:
                        found.add(cells[9])
        except OSError:
            continue
    return found


def steer_to_first(port: int) -> None:
    """Join the port's reuseport group for a moment and give it the first-listener program."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("::", port))
        sock.listen(1)
        program = SockFprog(1, FIRST_LISTENER)
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(program))


def main() -> None:
    """Hold the namespace; steer each client port's group to its first listener; exit 0 on SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ports = [int(p) for p in os.environ.get("ANCHOR_PORTS", "80").replace(",", " ").split()]
    steered = {port: False for port in ports}
    print(f"anchor: steering new connections to the oldest listener on port(s) {ports}", flush=True)
    while True:
        for port in ports:
            listening = bool(listeners(port))
            if listening and not steered[port]:
                try:
                    steer_to_first(port)
                    print(f"anchor: port {port}: new connections go to its oldest listener", flush=True)
                except OSError as error:
                    print(f"anchor: port {port}: could not attach the program: {error}", flush=True)
            steered[port] = listening
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
