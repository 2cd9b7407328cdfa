"""Processes the stack started, tracked by PID files so ``down`` stops exactly those.

A PID file holds the PID and the process start time (from /proc), so a recycled PID is never
mistaken for ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


class Registry:
    """PID files under ``run_dir``: one per service name."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)

    def _file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def record(self, name: str, pid: int) -> None:
        self._file(name).write_text(f"{pid} {_start_time(pid)}\n")

    def pid(self, name: str) -> int | None:
        """The recorded PID if that very process is still alive, else None. A process that
        was SIGKILLed counts as dead at once: it stays a zombie until its parent (often this
        very process, e.g. a test session) reaps it, and exiting takes a while under load;
        ``up`` must restart it meanwhile."""
        try:
            pid_text, started = self._file(name).read_text().split()
        except (OSError, ValueError):
            return None
        pid = int(pid_text)
        return pid if _start_time(pid) == started and not _killed(pid) else None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.run_dir.glob("*.pid"))

    def forget(self, name: str) -> None:
        self._file(name).unlink(missing_ok=True)

    def spawn(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> int:
        """Start a detached process in its own session (so its children die with it)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                    start_new_session=True)
        self.record(name, proc.pid)
        return proc.pid

    def stop(self, name: str, timeout: float = 15.0, group: bool = True) -> bool:
        """SIGTERM (the process group when ``group``), then SIGKILL; True if it was running."""
        pid = self.pid(name)
        if pid is None:
            self.forget(name)
            return False
        kill = os.killpg if group and os.getpgid(pid) == pid else os.kill
        _signal(kill, pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _start_time(pid) is not None and not _zombie(pid):
            time.sleep(0.1)
        if _start_time(pid) is not None and not _zombie(pid):
            _signal(kill, pid, signal.SIGKILL)
        self.forget(name)
        return True


def _signal(kill, pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        kill(pid, sig)


def _killed(pid: int) -> bool:
    """Gone, a zombie, or exiting on a SIGKILL already sent (pending in ShdPnd)."""
    if _zombie(pid):
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    pending = next(line.split()[1] for line in status.splitlines()
                   if line.startswith("ShdPnd:"))
    return bool(int(pending, 16) & 1 << (signal.SIGKILL - 1))


def _zombie(pid: int) -> bool:
    """True when ``pid`` is gone or a zombie (reaped here when it is our own child)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def strays(state_dir: Path) -> list[int]:
    """Live processes that belong to a stack by construction but are not in its PID files:
    those running in its state dir, and ejabberd nodes whose spool is there (an ejabberd
    restarted behind our back gets a new PID)."""
    state = str(state_dir.resolve())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if _zombie(int(proc.name)):
            continue
        if cwd == state or cwd.startswith(state + "/") or f"{state}/ejabberd/spool" in cmd:
            found.append(int(proc.name))
    return found


def terminate(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL whatever is left."""
    for pid in pids:
        _signal(os.kill, pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_zombie(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if not _zombie(pid):
            _signal(os.kill, pid, signal.SIGKILL)
