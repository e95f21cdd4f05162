"""The tests' clock: sleeping advances it, nothing really sleeps."""

from __future__ import annotations


class Clock:
    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds
