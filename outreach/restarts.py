"""When `outreach up` restarts a child that died, and what it tells the operator: pure, no processes.

A child that dies is restarted after a delay that doubles with each quick death in a row (1 s, 2 s,
4 s … at most 30 s). A child that cannot stay up (a broken install, a full disk) is then retried
patiently instead of in a hot loop that fills its log and takes the CPU from the children still
serving. Once a child has stayed up for a while, its next death counts as the first again.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0  # seconds up after which a death is not "again"

    def delay(self, deaths_in_a_row: int) -> float:
        """Seconds to wait before restarting a child that died DEATHS_IN_A_ROW times in quick succession."""
        doublings = min(max(deaths_in_a_row - 1, 0), 32)  # capped: 2**n must stay a float
        return min(self.max_delay, self.first_delay * 2 ** doublings)


@dataclass
class RestartRecord:
    """One child's deaths since `outreach up` started."""

    restarts: int = 0
    deaths_in_a_row: int = 0

    def died(self, uptime: float, policy: RestartPolicy) -> float:
        """Count a death after UPTIME seconds up; returns the seconds to wait before restarting."""
        if uptime >= policy.stable_after:
            self.deaths_in_a_row = 0
        self.deaths_in_a_row += 1
        self.restarts += 1
        return policy.delay(self.deaths_in_a_row)


def how_it_ended(code: int) -> str:
    """Popen's returncode in words: negative is the signal that killed it."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def in_words(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def death_notice(name: str, code: int, uptime: float, record: RestartRecord, delay: float, log: Path) -> str:
    """One line for the console and the child's log, after RECORD has counted the death."""
    how = how_it_ended(code)
    restart = f"restarting it in {in_words(delay)} (restart {record.restarts})"
    if record.deaths_in_a_row == 1:
        return f"{name} stopped unexpectedly ({how}) after {in_words(uptime)} up; {restart}; the others keep running"
    return (f"{name} stopped again ({how}) {in_words(uptime)} after starting, {record.deaths_in_a_row} times "
            f"in a row; {restart}, waiting longer each time; see {log}")
