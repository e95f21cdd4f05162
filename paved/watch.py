"""`paved preview --watch`: preview again whenever the stack file or the code changes, in one warm process.

Importing the SDK modules is most of a cold preview; this process imports them once. Each run is a whole
preview (fresh mocks, fresh pack processes) and prints what a cold run prints; what changed decides how:
- the stack file or a policy pack's files: run again. Packs are new processes each run anyway.
- the program's own modules (`__main__.py`, `components/`, any other module of the project): forget every
  one of them, so the next run imports them from their new source. Not `importlib.reload` of the changed
  module alone: modules that imported it would keep its old classes and functions. The SDK stays loaded.
- paved itself (the package that records and judges, and `paved/config.py`, which the program imports):
  restart the worker with the same arguments. Reloading the code that is running this loop, and whose
  classes the loop holds, is not safe.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import paved
from paved.program import Project

POLL_SECONDS = 0.2
WATCHED_DIRECTORIES = ("components", "paved", "policies")
WATCHED_SUFFIXES = (".py", ".yaml", ".yml", ".json")
# Installed packages and caches change without anyone editing the program.
SKIPPED_DIRECTORIES = {"__pycache__", "venv", ".venv", "node_modules"}
PAVED_PACKAGE = Path(paved.__file__).resolve().parent


class WatchStopped(Exception):
    """Ctrl-C (SIGINT) or SIGTERM: stop between or during runs, stopping any pack process first."""


class _StopOnSignal:
    """A signal handler that interrupts a run, and otherwise only says to stop.

    Between runs the process collects garbage, and a handler's exception raised inside a finalizer that
    the collection calls is printed and dropped by Python: the flag is what the loop relies on there.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.running = False

    def __call__(self, _signal: int, _frame: FrameType | None) -> None:
        self.requested.set()
        if self.running:
            raise WatchStopped

    def run(self, preview_once: Callable[[], object]) -> None:
        self.running = True
        try:
            preview_once()
        finally:
            self.running = False
        if self.requested.is_set():
            raise WatchStopped

    def pause(self, seconds: float) -> None:
        if self.requested.wait(seconds):
            raise WatchStopped


def _files_under(directory: Path) -> Iterator[Path]:
    for root, directories, files in os.walk(directory):
        directories[:] = [name for name in directories if name not in SKIPPED_DIRECTORIES]
        for name in files:
            if name.endswith(WATCHED_SUFFIXES):
                yield Path(root) / name


def watched_files(project: Project, stack: str, pack_dirs: Sequence[Path]) -> list[Path]:
    """Looked up again at each poll, so that new files are watched too."""
    files = [project.stack_file(stack), project.main]
    for directory in [*(project.directory / name for name in WATCHED_DIRECTORIES), *pack_dirs]:
        files.extend(_files_under(directory))
    return sorted({file.resolve() for file in files})


def _mtimes(files: Sequence[Path]) -> dict[Path, int]:
    stamps = {}
    for file in files:
        try:
            stamps[file] = file.stat().st_mtime_ns
        except FileNotFoundError:
            stamps[file] = -1
    return stamps


def _is_within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def forget_project_modules(project_dir: Path) -> None:
    """Drop the program's own modules, so the next run imports their current source."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        path = Path(file).resolve()
        if _is_within(path, project_dir) and not _is_within(path, PAVED_PACKAGE):
            del sys.modules[name]


def _restart() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "paved.cli", *sys.argv[1:]])


def watch_project(
    project: Project, stack: str, pack_dirs: Sequence[Path], preview_once: Callable[[], object]
) -> int:
    """Preview, then preview again after each change, until SIGINT or SIGTERM. Returns the exit code, 0."""
    project_dir = project.directory.resolve()
    pack_dirs = [pack_dir.resolve() for pack_dir in pack_dirs]
    stopper = _StopOnSignal()
    previous = {signum: signal.signal(signum, stopper) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        files = watched_files(project, stack, pack_dirs)
        stamps = _mtimes(files)
        stopper.run(preview_once)
        while True:
            print(f"paved: watching {len(files)} files; Ctrl-C stops", file=sys.stderr, flush=True)
            _settle()
            changed: list[Path] = []
            while not changed:
                stopper.pause(POLL_SECONDS)
                files = watched_files(project, stack, pack_dirs)
                current = _mtimes(files)
                changed = sorted(
                    file for file in current.keys() | stamps.keys() if current.get(file) != stamps.get(file)
                )
                stamps = current
            print(f"paved: {', '.join(map(str, changed))} changed", file=sys.stderr, flush=True)
            if any(_is_within(file, PAVED_PACKAGE) for file in changed):
                _restart()
            if any(file.suffix == ".py" and _is_within(file, project_dir) for file in changed):
                forget_project_modules(project_dir)
            stopper.run(preview_once)
    except WatchStopped:
        print("paved: stopped", file=sys.stderr, flush=True)
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _settle() -> None:
    """Free the finished run's objects while idle, and keep the loaded modules out of later collections."""
    gc.collect()
    gc.freeze()
