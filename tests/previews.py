"""Saved-preview documents for tests: paved's JSON of a recording, and the real CLI's form of it."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from paved.preview import PreviewResult
from paved.recorder import Recording
from paved.report import preview_digest


def paved_json(recording: Recording, config: Mapping[str, str]) -> dict[str, Any]:
    """What `paved preview --json` writes for this recording, read back as JSON."""
    result = PreviewResult(project="paved", stack=recording.stack, config=dict(config), recording=recording)
    return json.loads(json.dumps(preview_digest(result)))


def cli_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """What `pulumi preview --json` would write: no resolvedInputs, no placeholder registry."""
    cli = copy.deepcopy(dict(document))
    cli.pop("placeholders", None)
    cli.pop("pavedAccount", None)
    for step in cli["steps"]:
        step["newState"].pop("resolvedInputs", None)
    return cli
