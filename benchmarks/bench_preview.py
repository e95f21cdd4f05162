"""Preview performance, measured: run with `uv run python benchmarks/bench_preview.py`.

Prints
- the median wall time of 5 full `paved preview --stack prod` runs without and with
  `--policy-pack policies` (new processes, as a user runs it) and their ratio: the pack's cost, and
- the in-process recording time of the prod program with 1, 5 and 20 apps in config, with each count's
  ratio to a separate 1-app measurement (so the 1-app row shows the noise), to read growth off.
Numbers are reported, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from paved.program import run_project

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def _median_preview_seconds(*extra: str) -> float:
    command = [sys.executable, "-m", "paved.cli", "preview", "--stack", "prod", *extra]
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


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
    print(f"paved preview --stack prod, median of {RUNS} runs: {bare:.2f}s without a pack, "
          f"{with_pack:.2f}s with policies/ (ratio {with_pack / bare:.2f})")


if __name__ == "__main__":
    main()
