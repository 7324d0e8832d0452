"""Fixtures of the browser journeys: one Chromium for the run, the real `hssk --web` per test,
an event loop for async test clients."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import greenlet
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.conftest import database_for
from tests.e2e.pages import CHROMIUM, CONSOLE, launch
from tests.processes import BEFORE_STOP_ON_FAILURE, BIN, free_port, running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def shared_browser(playwright: Playwright) -> Iterator[Browser]:
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
        tmp = item.funcargs.get("tmp_path")
        for log in sorted(tmp.rglob("*.log")) if isinstance(tmp, Path) else []:
            # The end of each app's and server's own log: when a page lost its server, and why.
            tail = log.read_text(errors="replace").splitlines()[-25:]
            report.sections.append((f"end of {log.name}", "\n".join(tail)))
    return report


LONG_WALK_S = 240


def _where_the_journey_waits(name: str) -> None:
    """The journey's own stack, from its greenlet: Playwright's sync API runs the test in a
    greenlet, so a hung call shows in pytest-timeout's dump only as its event loop waiting."""
    print(f"\n{name} has walked {LONG_WALK_S} s; where each greenlet is:", file=sys.stderr)
    for thing in gc.get_objects():
        if isinstance(thing, greenlet.greenlet) and thing.gr_frame is not None:
            traceback.print_stack(thing.gr_frame, file=sys.stderr)


@pytest.fixture(autouse=True)
def long_walk_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    """A journey still walking after four minutes (most take under one) prints where it is,
    before pytest-timeout ends the run."""
    timer = threading.Timer(LONG_WALK_S, _where_the_journey_waits, [request.node.name])
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


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
