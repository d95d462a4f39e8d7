"""Where a service's CPU went, from a py-spy raw profile (`py-spy record --format raw --threads`).

py-spy counts an aiosqlite worker thread waiting for its next call (`tx.get()`, core.py line 59)
as running: in a profile of contacts through an import those waits were 41% of all samples, so
shares taken over every sample overstate SQLite's part and understate everything else. This
prints each thread's running samples apart from those waits, and the share of running samples
of each function named on the command line (inclusive: anywhere on the stack).

    uvx --from py-spy py-spy record -p PID -d 20 -r 50 --format raw --threads -o out.txt
    python -m bench.spy_summary out.txt import_batch publish_pending _finish
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

# The line of aiosqlite's worker loop where it waits for the next call to run.
_WAITING = "aiosqlite/core.py:59)"


def summarize(path: Path, names: list[str]) -> list[str]:
    """The printable lines for a raw profile."""
    running: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1]
        if frames[-1].endswith(_WAITING):
            waiting[thread] += int(count)
            continue
        running[thread] += int(count)
        for name in names:
            if any(frame.startswith(f"{name} (") for frame in frames):
                inclusive[name] += int(count)
    total = sum(running.values()) or 1
    lines = [f"running samples {total:,} (aiosqlite waits left out: {sum(waiting.values()):,})"]
    lines += [f"  {n / total:6.1%}  {thread}" for thread, n in running.most_common()]
    lines += [f"  {inclusive[name] / total:6.1%}  {name} (inclusive)" for name in names]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the summary of one raw profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("names", nargs="*", help="functions to show inclusive shares of")
    args = parser.parse_args(argv)
    print("\n".join(summarize(args.profile, args.names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
