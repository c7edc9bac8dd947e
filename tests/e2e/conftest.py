"""End-to-end: the real Agents Playground in headless Chromium, against the bot and the sim.

The stack of `mailops demo` (sim, bot, one Playground per person the tests act as) starts
once for this package, in a background thread and on free ports, so that a developer's
running demo does not collide; the sim is reset before each test, and each test opens a
fresh page (a fresh chat) as the person it acts as.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Locator,
    Page,
    ViewportSize,
    sync_playwright,
)

from bot.config import HostSdk
from devtools.demo import DemoOptions, RunningDemo, demo_stack
from devtools.playground import playground_binary, repo_root
from sim.tls import client_context

PEOPLE = ("eddie", "sam", "dana", "sara")  # sara: the onprem fixture (Fabrikam)
CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, quiet: without these it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = repo_root() / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 1000}
CARD_TIMEOUT_MS = 20_000
SCREENSHOT_MARGIN = 12
SETTLE_POLLS, SETTLE_POLL_MS = 50, 100
AVATAR_PX = 52  # the bot's avatar, left of its cards
HEADER_PX = 24  # "MailOps 10:47 AM" above a card, the time above a message
EDITOR = '[data-lexical-editor="true"]'
OFF_MACHINE = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])")


def missing_tools(*, browser: bool) -> list[str]:
    missing = []
    if not playground_binary().exists():
        missing.append(f"the Agents Playground ({playground_binary()})")
    if browser and not CHROMIUM.exists():
        missing.append(f"Debian's chromium ({CHROMIUM})")
    return missing


def require_tools(*, browser: bool = True) -> None:
    """Fail (never skip: CI must run these) with what to do when a tool is missing."""
    missing = missing_tools(browser=browser)
    if missing:
        pytest.fail(
            f"the end-to-end tests need {' and '.join(missing)}: run `make test`, which "
            "installs them (npm ci; apt-get install chromium)",
            pytrace=False,
        )


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


class StackThread:
    """`demo_stack` on its own event loop in a daemon thread, for synchronous tests."""

    def __init__(self, options: DemoOptions) -> None:
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="mailops-demo", daemon=True)
        self._running: RunningDemo | None = None
        self._error: BaseException | None = None

    def start(self) -> RunningDemo:
        self._thread.start()
        if not self._ready.wait(timeout=120):
            msg = "the demo stack did not start within 120 s"
            raise RuntimeError(msg)
        if self._error is not None:
            raise self._error
        assert self._running is not None
        return self._running

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with demo_stack(self._options) as running:
                self._running = running
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # handed to the test session by `start`
            self._error = exc
        finally:
            self._ready.set()


class Stack:
    """What the tests see of the running demo."""

    def __init__(self, running: RunningDemo) -> None:
        self.running = running
        self._admin = httpx.Client(
            base_url=f"{running.sim.origin}/_sim/",
            verify=client_context(running.tls.ca_cert),
            timeout=10.0,
        )

    def url(self, person: str) -> str:
        return self.running.playgrounds[person].url

    def reset(self) -> None:
        self._admin.post("reset").raise_for_status()

    def mailbox(self, person: str) -> dict[str, object]:
        """The person's mailbox row, as `GET /_sim/state` shows it."""
        spec = next(p for p in self.running.sim.fixture.people if p.name == person)
        assert spec.mailbox is not None
        rows = self._admin.get("state").raise_for_status().json()["mailboxes"]
        row: dict[str, object] = next(r for r in rows if r["mailboxid"] == spec.mailbox.id)
        return row

    def requests(self) -> list[dict[str, Any]]:
        """What the sim received, oldest first (`GET /_sim/requests`), with the
        CallerObjectId each request carried."""
        data: list[dict[str, Any]] = self._admin.get("requests").raise_for_status().json()
        return data

    def close(self) -> None:
        self._admin.close()


class Chat:
    """The personal chat with the bot, in one person's Playground, driven as a person would."""

    def __init__(self, page: Page, person: str) -> None:
        self.page = page
        self.person = person

    def say(self, text: str) -> None:
        editor = self.page.locator(EDITOR)
        editor.click()
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def card(self, *texts: str) -> Locator:
        """The newest Adaptive Card that shows every one of `texts`, once it is there."""
        cards = self.page.locator(".ac-adaptiveCard")
        for text in texts:
            cards = cards.filter(has_text=text)
        newest = cards.last
        newest.wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
        return newest

    def send_custom_activity(
        self, fields: dict[str, Any], *, screenshot: str | None = None
    ) -> None:
        """Mock an Activity → Custom activity: put `fields` in place of the template's
        `"type"` line (its last), and send it.

        The editor is Monaco, which closes quotes as they are typed and types over the
        closing ones, so typing the JSON as a person would gives the JSON typed.
        """
        page = self.page
        page.get_by_role("button", name="Mock an Activity").click()
        page.get_by_role("menuitem", name="Custom activity").click()
        dialog = page.get_by_role("dialog")
        editor = dialog.locator(".monaco-editor").first
        editor.wait_for(state="visible")
        dialog.get_by_text('"<custom-activity-type>"').wait_for(state="visible")
        editor.click()
        for key in ("Control+End", "ArrowUp", "End", "Shift+Home", "Backspace"):
            page.keyboard.press(key)
        members = [
            f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()
        ]
        page.keyboard.type(",\n".join(members))
        if screenshot is not None:
            page.keyboard.press("Home")  # the view back to the lines' beginnings
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            dialog.screenshot(path=SCREENSHOTS / f"{screenshot}.png", caret="hide")
        dialog.get_by_role("button", name="Send activity").click()
        dialog.wait_for(state="hidden")

    def screenshot(self, card: Locator, name: str, *, said: str | None = None) -> Path:
        """Save the card as the chat shows it: with the bot's avatar and name, and the
        person's message above it when `said` names it."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        frame = card.locator(f"xpath=ancestor::div[{_has_class('fai-OutputCard')}][1]")
        parts = [frame]
        if said is not None:
            parts.append(self.page.get_by_text(said, exact=True).last.locator("xpath=../.."))
        frame.scroll_into_view_if_needed()
        box, *bubble = self._settled_boxes(parts)
        left, top = box["x"] - AVATAR_PX, box["y"] - HEADER_PX
        right, bottom = box["x"] + box["width"], box["y"] + box["height"]
        for other in bubble:  # the person's message, and its time above it
            top = min(top, other["y"] - HEADER_PX)
            right = max(right, other["x"] + other["width"])
        m = SCREENSHOT_MARGIN
        self.page.screenshot(
            path=path,
            clip={
                "x": left - m,
                "y": top - m,
                "width": right - left + 2 * m,
                "height": bottom - top + 2 * m,
            },
            animations="disabled",
            caret="hide",
        )
        return path

    def _settled_boxes(self, parts: list[Locator]) -> list[FloatRect]:
        """Where `parts` are once the chat stops moving (late cards and scrolling shift it)."""
        previous: list[FloatRect | None] = []
        for _ in range(SETTLE_POLLS):
            boxes = [part.bounding_box() for part in parts]
            if boxes == previous:
                settled = [box for box in boxes if box is not None]
                assert len(settled) == len(parts), "a part of the screenshot is not shown"
                return settled
            previous = boxes
            self.page.wait_for_timeout(SETTLE_POLL_MS)
        msg = "the chat kept moving; no screenshot"
        raise AssertionError(msg)

    def screenshot_window(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=path, animations="disabled", caret="hide")
        return path


@pytest.fixture(scope="package", params=[sdk.value for sdk in HostSdk])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The demo's stack, once per host (MAILOPS_HOST_SDK, which the demo passes on to the
    bot): every test here runs against both."""
    require_tools()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MAILOPS_HOST_SDK", request.param)
        options = DemoOptions(
            var_dir=tmp_path_factory.mktemp(f"demo-var-{request.param}"),
            sim_port=0,
            bot_port=0,
            playground_port=0,
            people=PEOPLE,
        )
        thread = StackThread(options)
        try:
            running = thread.start()
        except BaseException:
            thread.stop()
            raise
        assert running.settings.host_sdk.value == request.param
        stack = Stack(running)
        yield stack
        stack.close()
        thread.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not longer: sync Playwright leaves its event loop marked
    running on the main thread, which the package's async tests would trip over."""
    require_tools()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def open_chat(
    stack: Stack, browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Chat]]:
    """`open_chat("eddie")`: a fresh page on eddie's Playground, with a clean sim.

    When the test fails, each page it opened is saved whole under the test's tmp_path.
    """
    stack.reset()
    contexts: list[BrowserContext] = []

    def open_as(person: str) -> Chat:
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        # The Playground's page asks a CDN for its fonts; offline, fail at once instead of
        # after a DNS timeout (the fonts fall back to the system's either way).
        context.route(OFF_MACHINE, lambda route: route.abort("internetdisconnected"))
        page = context.new_page()
        page.goto(stack.url(person))
        page.locator(EDITOR).wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
        # The log panel is for developers; closed, the chat has the window to itself.
        page.get_by_role("button", name="Toggle Log Panel").click()
        return Chat(page, person)

    yield open_as
    if request.node.stash.get(_FAILED, False):
        for number, context in enumerate(contexts):
            for page in context.pages:
                shot = tmp_path / f"failed-{number}.png"
                page.screenshot(path=shot, full_page=True)
                sys.stderr.write(f"\nthe page at failure: {shot}\n")
    for context in contexts:
        context.close()
