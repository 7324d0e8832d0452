"""Fixtures of the browser journeys: one Chromium for the run, the real `hssk --web` per test,
an event loop for async test clients."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import greenlet
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.conftest import database_for
from tests.e2e.pages import CHROMIUM, CONSOLE, launch, stop_renderers
from tests.processes import BEFORE_STOP_ON_FAILURE, BIN, free_port, running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def shared_browser(playwright: Playwright) -> Iterator[Browser]:
    """The run's one Chromium (stopping a hung journey's renderers leaves it working)."""
    browser = launch(playwright)
    yield browser
    browser.close()


FAILURES = Path(tempfile.gettempdir()) / "hssk-e2e-failures"


def _capture(name: str, browser: Browser, sections: list[tuple[str, str]]) -> None:
    """A picture and the console of each of the journey's pages (once per failed journey)."""
    if sections:
        return
    FAILURES.mkdir(exist_ok=True)
    for n, page in enumerate(p for c in browser.contexts for p in c.pages):
        path = FAILURES / f"{name}-{n}.png"
        with contextlib.suppress(Exception):  # a page that cannot paint any more
            page.screenshot(path=str(path), timeout=5000)
            sections.append(("pages", f"page {n} when it failed: {path}"))
        said = CONSOLE.get(page)
        if said:  # what the browser said: errors, a dropped websocket
            console = path.with_suffix(".console.txt")
            console.write_text("\n".join(said) + "\n")
            sections.append(("pages", f"page {n}'s console: {console}"))


CAPTURED = pytest.StashKey[list[tuple[str, str]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed journey leaves a picture of each of its pages (taken while its apps still run,
    see ``browser``) and the end of each of its logs, and says where."""
    report = yield
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and browser is not None:
        captured = item.stash.setdefault(CAPTURED, [])
        _capture(item.name, browser, captured)  # failed outside any running app
        report.sections.extend(captured)
        if item.stash.get(HUNG_KEY, False):
            report.longrepr = f"{HUNG} ({STUCK_S} s in one call)\n{report.longrepr}"
        tmp = item.funcargs.get("tmp_path")
        for log in sorted(tmp.rglob("*.log")) if isinstance(tmp, Path) else []:
            # The end of each app's and server's own log: when a page lost its server, and why.
            tail = log.read_text(errors="replace").splitlines()[-25:]
            report.sections.append((f"end of {log.name}", "\n".join(tail)))
    return report


# A journey whose waiting stack has not moved for two minutes is stuck in a Playwright call with
# no timeout of its own (a key press, an evaluate) on a renderer that stopped answering: no call
# with a timeout here waits past 90 s. (A slow journey on a loaded machine moves, and walks on.)
STUCK_S, LOOK_EVERY_S = 120, 10
# What a journey ended that way fails with: the only failure `make test` walks again (once).
HUNG = "journey hung: its pages' renderers were stopped"
HUNG_KEY = pytest.StashKey[bool]()


def _waiting() -> list[traceback.StackSummary]:
    """Where each suspended greenlet waits: Playwright's sync API runs the journey in one, so
    pytest-timeout's dump of the threads shows only the event loop."""
    return [traceback.extract_stack(thing.gr_frame) for thing in gc.get_objects()
            if isinstance(thing, greenlet.greenlet) and thing.gr_frame is not None]


def _end_the_hang(item: pytest.Item, stacks: list[traceback.StackSummary]) -> None:
    """Print where the journey waits, then stop the renderers it waits on, so that the call
    raises and the run goes on (pytest-timeout would end the whole run)."""
    item.stash[HUNG_KEY] = True
    try:
        print(f"\n{item.name}: stuck for {STUCK_S} s; where each greenlet waits:",
              file=sys.stderr)
        for stack in stacks:
            ours = [n for n, frame in enumerate(stack) if "/tests/" in frame.filename]
            # From the journey's own first frame down (pytest's frames above say nothing).
            shown = traceback.StackSummary.from_list(stack[ours[0] if ours else 0:])
            print("".join(shown.format()), file=sys.stderr)
    finally:
        stop_renderers()
    print(f"{item.name}: {HUNG}", file=sys.stderr)


def _watch(item: pytest.Item, done: threading.Event) -> None:
    last: list[list[tuple[str, int | None]]] = []
    since = time.monotonic()
    while not done.wait(LOOK_EVERY_S):
        stacks = _waiting()
        now = [[(frame.filename, frame.lineno) for frame in stack] for stack in stacks]
        if now != last or not now:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= STUCK_S:
            _end_the_hang(item, stacks)
            return


@pytest.fixture(autouse=True)
def hang_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    """A journey stuck in one call for two minutes prints where, and fails with ``HUNG``."""
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(request.node, done), daemon=True)
    watcher.start()
    yield
    done.set()
    watcher.join()


@pytest.fixture
def browser(request: pytest.FixtureRequest, shared_browser: Browser) -> Iterator[Browser]:
    """One Chromium for the run; each journey's pages close when it ends (a Flutter page left
    open keeps a renderer busy, reconnecting to its stopped app, and slows every later one).
    A journey that fails inside a running app is pictured before that app stops."""
    captured = request.node.stash.setdefault(CAPTURED, [])
    hook = partial(_capture, request.node.name, shared_browser, captured)
    BEFORE_STOP_ON_FAILURE.append(hook)
    yield shared_browser
    BEFORE_STOP_ON_FAILURE.remove(hook)
    for context in shared_browser.contexts:
        context.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A journey walks once, against a server on SQLite. What differs on PostgreSQL is the
    server's, and the API tests walk the same paths on both engines (the report after a push
    in test_api, conflicts in test_sync_semantics and test_merge): a second walk in the
    browser cost a minute and could only catch what those catch."""
    return database_for(request, "sqlite", tmp_path)


@pytest.fixture
def app_url(live_server, tmp_path) -> Iterator[str]:
    """The real `hssk --web` as a separate device, trusting the test server's issuer key."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {"HSSK_APP_DATA_DIR": str(tmp_path / "device"),
           "HSSK_TRUSTED_KEYS": str(live_server.data_dir / "keys")}
    with running([str(BIN / "hssk"), "--web", "--port", str(port)], url=url, env=env,
                 log=tmp_path / "app.log"):
        yield url


@pytest.fixture
def run() -> Iterator[Callable[[Any], Any]]:
    """Runs coroutines on one event loop in a worker thread (Playwright's sync API owns the
    main thread's), so an async client keeps its connections between calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield lambda coroutine: asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
