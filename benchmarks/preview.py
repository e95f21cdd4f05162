"""Preview performance, measured: run with `uv run python benchmarks/preview.py`.

Side by side in one run, interleaved round by round so that the machine's drift hits every line alike,
it prints the median wall time of
- `paved preview --stack prod`, a cold process, without and with `--policy-pack policies`;
- the import floor: a bare process importing only the SDK modules for the resource types the prod stack
  declares (`pulumi_aws.rds` for `aws:rds/...`, `pulumi_kubernetes.apps.v1` for `kubernetes:apps/v1:...`),
  plus `pulumi`, `pulumi_random` and `pulumi_policy`: a fixed reference, whatever the preview imports;
- the warm re-preview: `paved preview --watch` with the pack, from touching the prod stack file to the end
  of the next run's output;
and the ratios the targets are stated in (cold with the pack <= 1.5x the floor, warm <= 1 s or <= 0.25x
the cold preview).
- with `--apps`: the in-process recording time of the prod program with 1, 5 and 20 apps in config, with
  each count's ratio to a separate 1-app measurement (so the 1-app row shows the noise), to read growth off.
- with `--wiring`: what the wiring proof adds to the prod preview (the recording with and without lineage,
  and the proof itself, against the cold preview with the pack), and the proof's time with 1 and 20 apps.
- with `--against REV`: the median of `paved preview --stack prod` at this checkout and at REV (a
  temporary git worktree, run with its own `paved` and program), interleaved run by run so that drift
  hits both, and their ratio: is a change slower?
Numbers are reported, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import yaml

from paved.program import run_project

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
PROD_STACK_FILE = ROOT / "stacks" / "Pulumi.prod.yaml"
WATCH_TIMEOUT_SECONDS = 60


def _preview_command(*extra: str) -> list[str]:
    # `-m` puts the working directory first on sys.path, so each checkout runs its own `paved`.
    return [sys.executable, "-m", "paved.cli", "preview", "--stack", "prod", *extra]


def _preview_seconds(checkout: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(_preview_command(*extra), cwd=checkout, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


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


# -- the import floor -------------------------------------------------------------------------------------


def sdk_module(resource_type: str) -> str | None:
    """The SDK module that declares a resource type, or None for types no SDK module declares.

    `aws:rds/instance:Instance` -> `pulumi_aws.rds`, `aws:index/...` -> `pulumi_aws`,
    `kubernetes:networking.k8s.io/v1:NetworkPolicy` -> `pulumi_kubernetes.networking.v1`; a custom
    resource of a group the SDK has no module for (a CRD's) -> `pulumi_kubernetes.apiextensions`, which
    declares CustomResource. Components (`paved:...`) and `pulumi:...` types have none.
    """
    package, _, rest = resource_type.partition(":")
    module_path = rest.split(":", 1)[0]
    if package == "kubernetes":
        group, _, version = module_path.partition("/")
        candidate = f"pulumi_kubernetes.{group.split('.')[0]}.{version}"
        found = importlib.util.find_spec(candidate.rsplit(".", 1)[0]) and importlib.util.find_spec(candidate)
        return candidate if found else "pulumi_kubernetes.apiextensions"
    if package in ("aws", "random"):
        module = module_path.split("/")[0]
        return f"pulumi_{package}" if module == "index" else f"pulumi_{package}.{module}"
    return None


def floor_modules(resource_types: Iterable[str]) -> list[str]:
    modules = {module for module in map(sdk_module, resource_types) if module is not None}
    return sorted(modules | {"pulumi", "pulumi_random", "pulumi_policy"})


# The SDKs register their submodules as lazy modules, so `import pulumi_aws.rds` alone runs nothing of
# pulumi_aws.rds; reading an attribute does, as a program's `aws.rds.Instance` does.
_IMPORT_FLOOR = """
import importlib, sys
for name in sys.argv[1:]:
    getattr(importlib.import_module(name), "__all__", None)
"""


def _import_seconds(modules: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _IMPORT_FLOOR, *modules], cwd=ROOT, check=True)
    return time.perf_counter() - started


# -- the warm re-preview ------------------------------------------------------------------------------------


class Watcher:
    """`paved preview --watch` with the pack; a rerun ends when it says it is watching again."""

    def __init__(self) -> None:
        command = _preview_command("--policy-pack", "policies", "--watch")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.process.stderr is not None
        threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True).start()
        self._wait_until_watching()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)

    def _wait_until_watching(self) -> None:
        seen: list[str] = []
        while not seen or "watching" not in seen[-1]:
            try:
                seen.append(self._lines.get(timeout=WATCH_TIMEOUT_SECONDS))
            except queue.Empty:
                raise RuntimeError(f"paved preview --watch did not finish a run; it said {seen}") from None

    def rerun_seconds(self) -> float:
        started = time.perf_counter()
        os.utime(PROD_STACK_FILE)
        self._wait_until_watching()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=WATCH_TIMEOUT_SECONDS)


def side_by_side() -> None:
    with tempfile.TemporaryDirectory(prefix="paved-bench-") as scratch:
        digest = Path(scratch) / "prod.json"
        _preview_seconds(ROOT, "--json", str(digest))  # also warms bytecode
        types = {step["newState"]["type"] for step in json.loads(digest.read_text())["steps"]}
    modules = floor_modules(types)
    print(f"import floor: {len(modules)} modules for {len(types)} resource types: {' '.join(modules)}")
    watcher = Watcher()
    timings: dict[str, list[float]] = {"floor": [], "bare": [], "pack": [], "warm": []}
    try:
        for round_number in range(1, RUNS + 1):
            timings["floor"].append(_import_seconds(modules))
            timings["bare"].append(_preview_seconds(ROOT))
            timings["pack"].append(_preview_seconds(ROOT, "--policy-pack", "policies"))
            timings["warm"].append(watcher.rerun_seconds())
            latest = ", ".join(f"{key} {values[-1]:.2f}s" for key, values in timings.items())
            print(f"round {round_number}/{RUNS}: {latest}", file=sys.stderr, flush=True)
    finally:
        watcher.stop()
    floor, bare, pack, warm = (statistics.median(timings[key]) for key in ("floor", "bare", "pack", "warm"))
    print(f"medians of {RUNS} interleaved rounds (wall-clock, seconds; each round runs every line once):")
    print(f"  import floor                          {floor:6.2f}")
    print(f"  cold preview, no pack                 {bare:6.2f}   {bare / floor:5.2f}x floor")
    print(
        f"  cold preview, with policies/          {pack:6.2f}   {pack / floor:5.2f}x floor   (target <= 1.5x)"
    )
    print(
        f"  warm re-preview (--watch, with pack)  {warm:6.2f}   {warm / pack:5.2f}x cold with pack"
        "   (target <= 1 s or <= 0.25x)"
    )
    rounded = {key: [round(value, 2) for value in values] for key, values in timings.items()}
    print(f"  every round: {json.dumps(rounded)}")


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


def app_scaling() -> None:
    run_project(ROOT, "prod")  # warm imports, so the first count is not charged for them
    base_seconds, _ = _recording_seconds(1)
    print("apps  resources  recording_s  ratio_to_1_app")
    for count in (1, 5, 20):
        seconds, resources = _recording_seconds(count)
        print(f"{count:>4}  {resources:>9}  {seconds:>11.3f}  {seconds / base_seconds:>14.2f}")


def _wiring_round(config: dict[str, Any] | None = None) -> tuple[float, float, float]:
    """(recording without lineage, recording with lineage, the proof) in seconds, one run each."""
    import contextlib

    from paved_policies.wiring.flows import prove

    import paved.program as program
    from paved.lineage import snapshot_of

    following = program.following_lineage
    program.following_lineage = lambda _placeholders: contextlib.nullcontext()  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        run_project(ROOT, "prod", config)
        without = time.perf_counter() - started
    finally:
        program.following_lineage = following
    started = time.perf_counter()
    recording = run_project(ROOT, "prod", config)
    with_lineage = time.perf_counter() - started
    values = {"paved:apps": json.dumps(config["paved:apps"])} if config else {}
    stack_config = yaml.safe_load(PROD_STACK_FILE.read_text())["config"]
    plain = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in stack_config.items()
    }
    snapshot = snapshot_of(recording, {**plain, **values})
    started = time.perf_counter()
    prove(snapshot)
    return without, with_lineage, time.perf_counter() - started


def wiring_cost() -> None:
    """What the wiring proof adds to a prod preview (lineage while recording + the proof), and its growth."""
    run_project(ROOT, "prod")
    rounds = []
    for _ in range(RUNS):
        rounds.append((*_wiring_round(), _preview_seconds(ROOT, "--policy-pack", "policies")))
    without, with_lineage, proof, preview = (
        statistics.median(column) for column in zip(*rounds, strict=True)
    )
    added = with_lineage - without + proof
    print(f"recording without lineage  {without:.3f} s")
    print(f"recording with lineage     {with_lineage:.3f} s")
    print(f"the proof                  {proof:.3f} s")
    print(f"cold prod preview (pack)   {preview:.3f} s")
    print(f"added: {added:.3f} s = {added / preview:.1%} of the preview (target <= 10%)")
    _, _, one = _wiring_round({"paved:apps": _apps(1)})
    _, _, twenty = _wiring_round({"paved:apps": _apps(20)})
    print(
        f"proof with 1 app {one:.3f} s, with 20 apps {twenty:.3f} s: "
        f"ratio {twenty / one:.1f} for 20x the apps"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Preview performance, measured.")
    parser.add_argument("--against", metavar="REV", help="compare the prod preview with this git revision")
    parser.add_argument("--apps", action="store_true", help="recording time by number of apps")
    parser.add_argument("--wiring", action="store_true", help="what the wiring proof adds, and its growth")
    arguments = parser.parse_args()
    if arguments.wiring:
        wiring_cost()
    elif arguments.against:
        compare_with(arguments.against)
    elif arguments.apps:
        app_scaling()
    else:
        side_by_side()
