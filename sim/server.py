"""Running the sim: in the foreground (`mailops sim`) or on a background thread (tests, bench)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from sim.app import build_sim, create_sim_app
from sim.context import Sim
from sim.tls import TlsFiles, ensure_tls

T = TypeVar("T")


async def start_sim(
    fixture_path: Path, state_dir: Path, *, host: str = "127.0.0.1", port: int = 8765
) -> tuple[web.AppRunner, Sim, TlsFiles]:
    """Bind the sim and return once it accepts connections."""
    tls = ensure_tls(state_dir)
    sim = build_sim(fixture_path, state_dir)
    runner = web.AppRunner(create_sim_app(sim), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls.server_context())
    await site.start()
    bound_port = port or _bound_port(runner)
    shown_host = f"[{host}]" if ":" in host else host
    sim.origin = f"https://{shown_host}:{bound_port}"
    return runner, sim, tls


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    msg = "the sim did not bind a TCP port"
    raise RuntimeError(msg)


class SimThread:
    """The sim on its own event loop in a daemon thread, for synchronous callers."""

    def __init__(self, fixture_path: Path, state_dir: Path, *, port: int = 0) -> None:
        self._fixture_path = fixture_path
        self._state_dir = state_dir
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="sim")
        self._runner: web.AppRunner | None = None
        self.sim: Sim
        self.tls: TlsFiles

    def start(self) -> SimThread:
        self._thread.start()
        runner, self.sim, self.tls = self.call_async(
            start_sim(self._fixture_path, self._state_dir, port=self._port)
        )
        self._runner = runner
        return self

    def call_async(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=60)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the sim's loop thread (state is not thread-safe)."""

        async def run() -> T:
            return fn()

        return self.call_async(run())

    def stop(self) -> None:
        if self._runner is not None:
            self.call_async(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
