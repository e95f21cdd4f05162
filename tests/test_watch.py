"""`paved preview --watch` as a user runs it: a process that previews again after each edit, until stopped."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "fixtures" / "sample_program"
WAIT_SECONDS = 30


class Watcher:
    """The watch process, with its stderr read on a thread so that waiting for a line has a deadline."""

    def __init__(self, project: Path):
        command = [sys.executable, "-m", "paved.cli", "preview", "--stack", "dev", "-C", str(project)]
        command.append("--watch")
        self.process = subprocess.Popen(
            command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout: list[str] = []
        self.stderr: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        readers = ((self.process.stdout, self.stdout.append), (self.process.stderr, self.stderr.put))
        for stream, sink in readers:
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], sink: Callable[[str], None]) -> None:
        for line in stream:
            sink(line)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.stderr.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr in {WAIT_SECONDS}s; saw {seen}, stdout {self.stdout}")

    def runs(self) -> list[str]:
        """Each run's printed text, split at its header."""
        text = "".join(self.stdout)
        header = "Previewing update"
        return [header + part for part in text.split(header)[1:]]

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=WAIT_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def _without_duration(text: str) -> list[str]:
    # Registration order depends on the SDK's thread pool, in a cold run too; the lines are what must match.
    return sorted(line for line in text.splitlines() if not line.startswith("Duration:"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(SAMPLE, copy)
    # A module of the program's own, to see that an edit to it reaches the next run.
    (copy / "components").mkdir()
    (copy / "components" / "__init__.py").write_text("")
    (copy / "components" / "labels.py").write_text('LABEL = "first"\n')
    with (copy / "__main__.py").open("a") as main:
        main.write('\nfrom components.labels import LABEL\n\npulumi.export("label", LABEL)\n')
    return copy


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_watch_previews_again_after_each_edit_and_stops_cleanly(project: Path, signum: int) -> None:
    watcher = Watcher(project)
    try:
        watcher.wait_for("watching")
        stack_file = project / "Pulumi.dev.yaml"
        stack_file.write_text(stack_file.read_text().replace("plain: value", "plain: edited"))
        watcher.wait_for("Pulumi.dev.yaml changed")
        watcher.wait_for("watching")
        (project / "components" / "labels.py").write_text('LABEL = "second"\n')
        watcher.wait_for("labels.py changed")
        watcher.wait_for("watching")
    finally:
        code = watcher.stop(signum)
    assert code == 0
    assert "paved: stopped" in watcher.wait_for("stopped")
    first, after_stack_edit, after_code_edit = watcher.runs()
    assert "plain: value" in first and "label: first" in first
    assert "plain: edited" in after_stack_edit and "label: first" in after_stack_edit
    assert "plain: edited" in after_code_edit and "label: second" in after_code_edit
    if signum != signal.SIGINT:
        return  # how the watcher stops does not change what it printed: one cold comparison is enough
    # In a process of its own: this one has imported the repository's `components`, a namesake.
    cold = subprocess.run(
        [sys.executable, "-m", "paved.cli", "preview", "--stack", "dev", "-C", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert _without_duration(after_code_edit) == _without_duration(cold.stdout)
