"""Engines: URLs, the SQLite settings for several processes, aware timestamps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from store import AuditResult, InvalidInput, Store, UnsupportedDatabase, make_engine, normalize_url
from tests.store.kit import SAM, Backend, FakeClock


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u@h/d", "postgresql+psycopg://u@h/d", "sqlite+pysqlite:///x", "not a url"]
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        normalize_url(url)


def test_schema_is_postgresql_only() -> None:
    with pytest.raises(InvalidInput):
        make_engine("sqlite+aiosqlite:///x.db", schema="s")


def test_schema_name_must_be_an_identifier() -> None:
    with pytest.raises(InvalidInput):
        make_engine("postgresql+asyncpg://u@h/d", schema='x"; DROP TABLE y; --')


async def test_sqlite_is_set_up_for_several_processes(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'a' / 'b' / 'mailops.db'}")
    try:
        async with store.engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await store.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


async def test_default_url_is_a_file_under_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with await Store.open() as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / "var" / "mailops.db").is_file()


async def test_in_memory_sqlite_works() -> None:
    async with await Store.open("sqlite+aiosqlite://") as store:
        await store.watermarks.set("prod", "mailboxes", "x")
        watermark = await store.watermarks.get("prod", "mailboxes")
    assert watermark is not None
    assert watermark.value == "x"


async def test_timestamps_come_back_aware_utc(store: Store, clock: FakeClock) -> None:
    await store.audit.append(actor=SAM, action="help", result=AuditResult.OK)
    [entry] = await store.audit.latest(1)
    assert entry.at == clock.current
    assert entry.at.utcoffset() is not None


async def test_naive_clock_is_refused(backend: Backend) -> None:
    store = await Store.open(backend.url, schema=backend.schema, clock=datetime.now)
    try:
        with pytest.raises(InvalidInput):
            await store.watermarks.set("prod", "mailboxes", "x")
    finally:
        await store.close()
