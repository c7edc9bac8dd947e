"""Requests run side by side, and every one of them ends before the caller goes on.

`asyncio.gather` without `return_exceptions` raises the first failure while the other
requests keep running; they then outlive the caller and the connection they use. These
wait for every one, then raise the first failure (the failure's own type, not a group).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
T = TypeVar("T")


def _first_failure(results: Iterable[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    _first_failure((a, b))
    return a, b  # type: ignore[return-value]


async def three(first: Awaitable[A], second: Awaitable[B], third: Awaitable[C]) -> tuple[A, B, C]:
    a, b, c = await asyncio.gather(first, second, third, return_exceptions=True)
    _first_failure((a, b, c))
    return a, b, c  # type: ignore[return-value]


async def every(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    _first_failure(results)
    return list(results)  # type: ignore[arg-type]
