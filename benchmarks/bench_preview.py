"""Preview performance, measured: run with `uv run python benchmarks/bench_preview.py`.

Prints
- the median wall time of 5 full `paved preview --stack prod` runs without and with
  `--policy-pack policies` (new processes, as a user runs it) and their ratio: the pack's cost, and
- the in-process recording time of the prod program with 1, 5 and 20 apps in config, with each count's
  ratio to a separate 1-app measurement (so the 1-app row shows the noise), to read growth off.
- with `--against REV`: the median of `paved preview --stack prod` at this checkout and at REV (a
  temporary git worktree, run with its own `paved` and program), interleaved run by run so that drift
  hits both, and their ratio: is a change slower?
Numbers are reported, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from paved.program import run_project

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def _preview_seconds(checkout: Path, *extra: str) -> float:
    # `-m` puts the working directory first on sys.path, so each checkout runs its own `paved`.
    command = [sys.executable, "-m", "paved.cli", "preview", "--stack", "prod", *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=checkout, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _median_preview_seconds(*extra: str) -> float:
    return statistics.median(_preview_seconds(ROOT, *extra) for _ in range(RUNS))


def compare_with(revision: str) -> None:
    with tempfile.TemporaryDirectory(prefix="paved-bench-") as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), revision], cwd=ROOT, check=True)
        try:
            _preview_seconds(baseline)  # warm both checkouts' bytecode before timing
            _preview_seconds(ROOT)
            pairs = [(_preview_seconds(ROOT), _preview_seconds(baseline)) for _ in range(RUNS)]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=True)
    head, base = (statistics.median(side) for side in zip(*pairs, strict=True))
    print(
        f"paved preview --stack prod, median of {RUNS} interleaved runs: {head:.2f}s here, {base:.2f}s at "
        f"{revision} (ratio {head / base:.2f})"
    )


def _apps(count: int) -> list[dict[str, Any]]:
    prod = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    template = prod["paved:apps"][0]
    return [
        {**template, "name": f"app{index}", "host": f"app{index}.{prod['paved:domain']['name']}"}
        for index in range(count)
    ]


def _recording_seconds(app_count: int) -> tuple[float, int]:
    timings, resources = [], 0
    for _ in range(3):
        started = time.perf_counter()
        recording = run_project(ROOT, "prod", {"paved:apps": _apps(app_count)})
        timings.append(time.perf_counter() - started)
        resources = len(recording.resources)
    return statistics.median(timings), resources


def main() -> None:
    run_project(ROOT, "prod")  # warm imports, so the first count is not charged for them
    base_seconds, _ = _recording_seconds(1)
    print("apps  resources  recording_s  ratio_to_1_app")
    for count in (1, 5, 20):
        seconds, resources = _recording_seconds(count)
        print(f"{count:>4}  {resources:>9}  {seconds:>11.3f}  {seconds / base_seconds:>14.2f}")
    bare = _median_preview_seconds()
    with_pack = _median_preview_seconds("--policy-pack", "policies")
    print(
        f"paved preview --stack prod, median of {RUNS} runs: {bare:.2f}s without a pack, "
        f"{with_pack:.2f}s with policies/ (ratio {with_pack / bare:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Preview performance, measured.")
    parser.add_argument("--against", metavar="REV", help="compare the prod preview with this git revision")
    arguments = parser.parse_args()
    if arguments.against:
        compare_with(arguments.against)
    else:
        main()
