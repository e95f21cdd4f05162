"""`paved diff A B` (paved/stack_diff.py): what differs between two stacks as each resolves its config, and
whether the presets or a stack file made it differ."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from paved.cli import app
from paved.config import load_stack_config
from paved.stack_diff import Difference, differences
from tests.stack_config import ROOT, shipped, with_app

NAMES = ("staging", "prod")


def _shipped_differences() -> dict[tuple[str, str], Difference]:
    raws = (shipped("staging"), shipped("prod"))
    configs = (load_stack_config(raws[0], "staging"), load_stack_config(raws[1], "prod"))
    return {(d.section, d.key): d for d in differences(configs, raws, NAMES)}


def test_each_difference_says_whether_the_presets_or_a_stack_file_made_it() -> None:
    found = _shipped_differences()
    multi_az = found[("database", "multiAz")]
    assert (multi_az.values, multi_az.cause, multi_az.overridden_by) == ((False, True), "preset", ())
    storage = found[("database", "allocatedStorage")]
    assert (storage.values, storage.cause, storage.overridden_by) == ((20, 200), "override", ("prod",))
    endpoint = found[("cluster", "publicEndpoint")]
    assert (endpoint.values, endpoint.overridden_by) == ((True, False), ("staging",))
    # A nested map set in part overrides only its own keys.
    assert found[("cluster", "spot.max")].overridden_by == ("staging",)
    assert ("cluster", "spot.min") not in found
    # What both resolve alike is not listed, and the environment itself (it picks the presets) never is.
    assert ("database", "engineVersion") not in found
    assert not [key for key in found if key[1] == "environment"]


def test_an_app_only_one_stack_runs_shows_on_one_side() -> None:
    prod = shipped("prod")
    extra = {**prod["paved:apps"][-1], "name": "reports", "publicPath": None, "host": None}
    raws = (shipped("staging"), {**prod, "paved:apps": [*prod["paved:apps"], extra]})
    configs = (load_stack_config(raws[0], "staging"), load_stack_config(raws[1], "prod"))
    found = [d for d in differences(configs, raws, NAMES) if d.section == "apps.reports"]
    assert found and all(d.values[0] == "—" and d.cause == "override" for d in found)


def test_an_app_overridden_in_one_stack_is_marked_so() -> None:
    raws = (shipped("staging"), with_app(shipped("prod"), 0, {"replicas": {"max": 20}}))
    configs = (load_stack_config(raws[0], "staging"), load_stack_config(raws[1], "prod"))
    name = raws[1]["paved:apps"][0]["name"]
    [replicas] = [
        d for d in differences(configs, raws, NAMES) if (d.section, d.key) == (f"apps.{name}", "replicas.max")
    ]
    assert (replicas.values, replicas.overridden_by) == ((3, 20), ("prod",))


def test_the_command_lists_them_by_section_and_refuses_a_missing_stack(tmp_path: Path) -> None:
    listed = CliRunner().invoke(app, ["diff", "staging", "prod", "-C", str(ROOT), "--markdown"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("paved diff staging prod: ") and "from the presets" in lines[0]
    assert "### database" in lines and "| key | staging | prod | why |" in lines
    assert "| `multiAz` | false | true | preset |" in lines
    missing = CliRunner().invoke(app, ["diff", "staging", "qa", "-C", str(ROOT)])
    assert missing.exit_code == 2
