"""What the benchmarks read about the service processes they started (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far."""
    # Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, printable beside a figure."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
