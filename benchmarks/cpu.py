"""CPU per part of the local stack, sampled from /proc while a load runs (Linux only).

The parts are told apart by process: the stack's own process is the stand-in API Gateway (HTTP
server, authorizer, stream pumps); each function worker runs ``local/worker.py``; DynamoDB Local
is a JVM under ``local.guard``; moto serves Cognito, KMS and the rest; locust is the load.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")

GATEWAY = "stand-in gateway"
HANDLERS = "handler workers"
DYNAMODB = "DynamoDB Local"
MOTO = "moto (Cognito, KMS)"
LOAD = "locust (load generator)"
OTHER = "other"
PARTS = (GATEWAY, HANDLERS, DYNAMODB, MOTO, LOAD, OTHER)


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system ticks), or None when the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def classify(pid: int, root: int, cmdline: str) -> str:
    if pid == root:
        return GATEWAY
    if "worker.py" in cmdline:
        return HANDLERS
    if "DynamoDBLocal" in cmdline or "local.guard" in cmdline:
        return DYNAMODB
    if "local.moto_server" in cmdline:
        return MOTO
    if "locust" in cmdline:
        return LOAD
    return OTHER


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children[stat[0]].append(int(entry.name))
    found, frontier = {root}, [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine: other tenants' work shows here too."""
    values = [int(value) for value in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def listen_overflows() -> int:
    """Connections the kernel dropped because a listening socket's accept queue was full
    (machine-wide: other listeners count too)."""
    lines = [line.split() for line in (PROC / "net" / "netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0], lines[1], strict=True)).get("ListenOverflows", 0))


@dataclass
class Usage:
    seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))
    # The busiest single process of each part, in share of one core over one sample.
    peak_process: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))
    # Handler CPU seconds per function (the handler path each worker runs).
    functions: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0  # share of all cores over the run, other tenants included
    load_average: float = 0.0  # the machine's 1-minute load average at the end
    listen_overflows: int = 0
    cores: int = os.cpu_count() or 1

    def cores_used(self, part: str) -> float:
        return self.cpu_seconds[part] / self.seconds if self.seconds else 0.0


class Sampler:
    """Samples every process under ``root`` once per ``interval`` until stopped."""

    def __init__(self, root: int, interval: float = 1.0) -> None:
        self.root = root
        self.interval = interval
        self.usage = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._labels: dict[int, str] = {}
        self._functions: dict[int, str] = {}

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _snapshot(self) -> dict[int, int]:
        ticks: dict[int, int] = {}
        for pid in descendants(self.root):
            stat = _stat(pid)
            if stat is not None:
                ticks[pid] = stat[1]
                if pid not in self._labels:
                    cmdline = _cmdline(pid)
                    self._labels[pid] = classify(pid, self.root, cmdline)
                    if self._labels[pid] == HANDLERS:
                        self._functions[pid] = cmdline.split()[-1].removeprefix("lendbridge.handlers.")
        return ticks

    def _run(self) -> None:
        before, first_machine, sampled_at = self._snapshot(), machine_busy_ticks(), time.monotonic()
        first_overflows = listen_overflows()
        while not self._stop.wait(self.interval):
            after, now = self._snapshot(), time.monotonic()
            elapsed, sampled_at = now - sampled_at, now
            for pid, ticks in after.items():
                used = (ticks - before.get(pid, ticks)) / TICKS
                part = self._labels[pid]
                self.usage.cpu_seconds[part] += used
                self.usage.peak_process[part] = max(self.usage.peak_process[part], used / elapsed)
                if pid in self._functions:
                    function = self._functions[pid]
                    self.usage.functions[function] = self.usage.functions.get(function, 0.0) + used
            self.usage.seconds += elapsed
            before = after
        self.usage.load_average = os.getloadavg()[0]
        self.usage.listen_overflows = listen_overflows() - first_overflows
        busy, total = machine_busy_ticks()
        if total > first_machine[1]:
            self.usage.machine_busy = (busy - first_machine[0]) / (total - first_machine[1])
