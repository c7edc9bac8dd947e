"""`mailops demo` as a process: it comes up, prints where, and leaves no node process behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import require_tools

pytestmark = pytest.mark.e2e

READY = "Press Ctrl-C to stop."
START_TIMEOUT_S = 60.0


class Demo:
    """A `mailops demo --as eddie` subprocess on free ports, run in `cwd` with its state in
    `cwd/var` (a relative path, as `make demo` gives), its output read line by line."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        command = [
            *(sys.executable, "-m", "bot.cli", "demo", "--as", "eddie"),
            *("--sim-port", "0", "--bot-port", "0", "--playground-port", "0"),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our arguments
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
            if READY in line:
                return "".join(self.output)
        pytest.fail(f"mailops demo did not come up:\n{''.join(self.output)}")

    def url(self, pattern: str) -> str:
        match = re.search(pattern, "".join(self.output))
        assert match, f"{pattern!r} not in the demo's output"
        return match.group(1)

    def children(self) -> list[int]:
        """Pids of this process's children (from /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def _gone(pid: int, within_s: float) -> bool:
    """True once `pid` has exited (a zombie counts: it runs no more)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    require_tools(browser=False)
    started = Demo(tmp_path)
    yield started
    started.close()


def test_ctrl_c_stops_sim_bot_and_playground(demo: Demo) -> None:
    summary = demo.wait_ready()
    assert (demo.cwd / "var" / "playground" / "eddie.yml").is_file()
    playground = demo.url(r"eddie\s+(http://127\.0\.0\.1:\d+/)")
    bot = demo.url(r"bot\s+(http://127\.0\.0\.1:\d+)/api/messages")
    assert "Eddie Exchange" in summary
    assert httpx.get(playground, timeout=5).status_code == 200
    assert httpx.get(f"{bot}/healthz", timeout=5).status_code == 200
    (node,) = demo.children()

    demo.process.send_signal(signal.SIGINT)

    assert demo.process.wait(timeout=30) == 0
    assert _gone(node, within_s=5), "the Playground's node process outlived the demo"
    with pytest.raises(httpx.ConnectError):
        httpx.get(playground, timeout=2)


def test_playground_ends_with_a_killed_demo(demo: Demo) -> None:
    demo.wait_ready()
    (node,) = demo.children()

    os.kill(demo.process.pid, signal.SIGKILL)  # no chance to clean up

    demo.process.wait(timeout=10)
    assert _gone(node, within_s=10), "the Playground's node process was orphaned"
