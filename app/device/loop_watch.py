"""A watchdog on the web app's event loop: whatever holds the loop too long is logged, with the
stack that held it (a held loop cannot answer the browser, which then drops the page)."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback

log = logging.getLogger("hssk.app.loop")


def watch(loop: asyncio.AbstractEventLoop, threshold: float) -> threading.Thread:
    """Log a warning, with the loop thread's stack, each time the loop does not answer within
    ``threshold`` seconds; runs as a daemon thread until the loop closes."""
    loop_thread = threading.get_ident()

    def run() -> None:
        while not loop.is_closed():
            answered = threading.Event()
            asked = time.monotonic()
            try:
                loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # the loop closed between the check and the call
                return
            if not answered.wait(threshold):
                frame = sys._current_frames().get(loop_thread)
                stack = "".join(traceback.format_stack(frame)) if frame else "(no stack)"
                answered.wait()
                log.warning("the event loop was held for %.1f s by:\n%s",
                            time.monotonic() - asked, stack)
            time.sleep(threshold / 4)

    thread = threading.Thread(target=run, name="loop-watch", daemon=True)
    thread.start()
    return thread
