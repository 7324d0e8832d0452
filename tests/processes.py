"""Start our real commands (hssk-server, hssk --web) as subprocesses on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent

# Called when a `running` block fails, before its process stops: a browser journey pictures its
# pages there, while they still show what went wrong (after, they show the app reconnecting).
BEFORE_STOP_ON_FAILURE: list[Callable[[], None]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hssk_server(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> str:
    """Run an hssk-server admin command; return its standard output (raise on failure).

    The command runs in this process (the real command, through Typer's runner, with its
    environment set for the call): a new interpreter for each of the suite's hundreds of
    commands cost a second apiece. The server itself always runs as its own process
    (``running``), and tests of the installed command run it as one."""
    from typer.testing import CliRunner

    from sync.server.cli import app

    done = CliRunner().invoke(app, list(args), env={**(env or {}),
                                                    "HSSK_DATA_DIR": str(data_dir)})
    if done.exit_code != 0:
        raise AssertionError(f"hssk-server {' '.join(args)} failed ({done.exit_code}): "
                             f"{done.stderr} {done.exception!r}")
    return done.stdout


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def running(args: list[str], *, url: str, env: dict[str, str],
            log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The command running until the block ends (then stopped); yields its process."""
    with log.open("ab") as out:
        # Connections opened and closed are in the log: a page that lost its server says when.
        process = subprocess.Popen(args, env={"HSSK_LOG_LEVEL": "info", "HSSK_LOOP_WATCH": "3",
                                                 **os.environ, **env},
                                   stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            wait_http(url, process)
            yield process
        except BaseException:
            for hook in BEFORE_STOP_ON_FAILURE:
                hook()
            raise
        finally:
            if process.poll() is not None:  # gone before the block ended: say how, in its log
                gone = (f"{args[0]} exited by itself with code {process.returncode} "
                        f"(negative: killed by that signal)")
                out.write(f"\n[test] {gone}\n".encode())
                out.flush()
                print(f"{gone}; its output: {log}", file=sys.stderr)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
