"""Ports on the loopback interface."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


class PortTaken(RuntimeError):
    def __init__(self, what: str, port: int, variable: str) -> None:
        super().__init__(
            f"Port {port} for {what} is already in use. Stop whatever is listening there, "
            f"or choose another port with {variable}=<port>."
        )
