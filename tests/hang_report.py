"""What a test that hangs leaves behind: every thread's stack and every asyncio task's stack.

pytest-timeout (configured in pyproject.toml) calls `pytest_timeout_set_timer`; the root conftest
answers it with `arm`, which uses SIGALRM on the main thread. When the alarm fires, the handler runs
in the main thread, inside the event loop pytest-asyncio is running, so it can list that loop's
tasks with their stacks (where each one is awaiting) before failing the test. A watchdog thread then
ends the process if the test's teardown hangs too, so a whole run can never hang.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

import pytest
import pytest_timeout

# After a timeout fired, the test's teardown gets this long before the process is ended.
TEARDOWN_GRACE_SECONDS = 60.0


def asyncio_task_stacks(loop: asyncio.AbstractEventLoop | None) -> str:
    """Every task of `loop` with the stack it is suspended in, as text."""
    if loop is None:
        return "no asyncio loop is running in the main thread\n"
    out = io.StringIO()
    tasks = asyncio.all_tasks(loop)
    out.write(f"{len(tasks)} asyncio task(s) in {loop!r}\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- task {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=30, file=out)
    return out.getvalue()


def _write_report(
    write: Callable[[str], Any],
    frame: FrameType | None,
    loop: asyncio.AbstractEventLoop | None,
    title: str,
) -> None:
    write(f"\n{'+' * 30} {title} {'+' * 30}\n")
    if frame is not None:
        write(f"~~~ main thread ({threading.main_thread().ident}) ~~~\n")
        write("".join(traceback.format_stack(frame, limit=12)))
    current = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, thread_frame in sys._current_frames().items():
        if ident != current:
            write(f"~~~ thread {names.get(ident, '<unknown>')} ({ident}) ~~~\n")
            write("".join(traceback.format_stack(thread_frame)))
    write(f"{'~' * 20} asyncio tasks {'~' * 20}\n")
    write(asyncio_task_stacks(loop))
    write(f"{'+' * 30} end of {title} {'+' * 30}\n")


def _hard_exit(nodeid: str, loop: asyncio.AbstractEventLoop | None, stream: TextIO) -> None:
    _write_report(stream.write, None, loop, f"teardown of {nodeid} hung after its timeout")
    stream.flush()
    os._exit(3)


def arm(item: pytest.Item, settings: Any) -> bool:
    """Start the timer of one test; return False to leave it to pytest-timeout (no SIGALRM)."""
    if (
        settings.method != "signal"
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "SIGALRM")
    ):
        return False
    terminal = item.config.get_terminal_writer()
    watchdog: list[threading.Timer] = []

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        if not settings.disable_debugger_detection and pytest_timeout.is_debugging():
            return
        loop = asyncio._get_running_loop()
        _write_report(terminal.write, frame, loop, f"Timeout after {settings.timeout}s")
        stream = sys.__stderr__
        timer = threading.Timer(TEARDOWN_GRACE_SECONDS, _hard_exit, (item.nodeid, loop, stream))
        timer.daemon = True
        timer.start()
        watchdog.append(timer)
        pytest.fail(f"Timeout >{settings.timeout}s (stacks of threads and asyncio tasks above)")

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        for timer in watchdog:
            timer.cancel()

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout's cancel hook
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True
