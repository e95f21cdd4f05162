"""Stack files edited in place: values set, comments, order and quoting kept (ruamel's round trip)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from paved.config import StackConfig, load_stack_config
from paved.yaml_files import read_yaml

# A path under `config:`: map keys and list indexes, e.g. ("paved:apps", 1, "image").
KeyPath = tuple[str | int, ...]


class StackEditError(Exception):
    """The stack file can't be edited in place here."""


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting are kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def with_values(stack_file: Path, values: Mapping[KeyPath, int | str]) -> str:
    """The stack file's text with the value at each key (under `config:`) set, maps created where the
    file relies on the preset. StackEditError where the file holds that part of config in a form this
    can't edit in place (a JSON string)."""
    yaml = _yaml()
    document = yaml.load(stack_file.read_text())
    config: Any = document.setdefault("config", CommentedMap())
    for key, value in values.items():
        node = config
        for depth, part in enumerate(key[:-1]):
            following = key[depth + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    raise StackEditError(f"{stack_file}: no entry {part} at {key[:depth]}")
                node = node[part]
                continue
            if not isinstance(node, dict):
                raise StackEditError(f"{stack_file}: {part} is not in a map this can edit; edit it by hand")
            if part not in node:
                if isinstance(following, int):
                    raise StackEditError(f"{stack_file}: no {part} list to edit")
                node[part] = CommentedMap()
            node = node[part]
        if not isinstance(node, dict):
            raise StackEditError(
                f"{stack_file}: {'.'.join(map(str, key[:-1]))} is not a YAML map (a JSON string?); set "
                f"{key[-1]} by hand"
            )
        node[key[-1]] = value
    text = io.StringIO()
    yaml.dump(document, text)
    return text.getvalue()


def edited_config(stack_file: Path, text: str, stack: str, project: str) -> StackConfig:
    """The stack's config as `text` (an edit of `stack_file`) would give it, checked before the file is
    written: YamlError or ConfigError leave it unchanged."""
    with tempfile.TemporaryDirectory() as scratch:
        check = Path(scratch) / stack_file.name
        check.write_text(text)
        return load_stack_config(read_yaml(check).get("config") or {}, stack, project)
