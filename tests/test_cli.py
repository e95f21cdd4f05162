"""The `paved` command itself: what it says about itself."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import yaml
from typer.testing import CliRunner

from paved.cli import app

POLICY_MANIFEST = Path(__file__).parent.parent / "policies" / "PulumiPolicy.yaml"


def test_version_is_the_packages_and_the_policy_packs() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"paved {version('paved')}\n"
    # The pack ships beside paved and reports the manifest's version over the Analyzer protocol.
    assert str(yaml.safe_load(POLICY_MANIFEST.read_text())["version"]) == version("paved")
