"""`paved rollback APP --stack S`: the app's previous image back into the stack file, from git history.

Pulumi stays the one writer: the rollback is a change to the stack file, deployed by the same `up` and
`paved verify` as any release, behind the same approval. A `kubectl rollout undo` would leave the cluster
different from the code, drift the next `up` may or may not revert.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paved.stack_edit import KeyPath


class RollbackError(Exception):
    pass


@dataclass(frozen=True)
class Revision:
    commit: str
    date: str
    subject: str
    image: str


def _git(directory: Path, *args: str) -> str:
    ran = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=False)
    if ran.returncode != 0:
        raise RollbackError(f"`git {' '.join(args)}` failed: {ran.stderr.strip()}")
    return ran.stdout


def _app_entry(config: Any, app: str) -> tuple[int, dict[str, Any]] | None:
    """`app`'s position and entry in a stack file's `paved:apps`; None when it isn't there."""
    apps = config.get("paved:apps") if isinstance(config, dict) else None
    for index, entry in enumerate(apps if isinstance(apps, list) else []):
        if isinstance(entry, dict) and entry.get("name") == app:
            return index, entry
    return None


def image_key(config: Any, app: str) -> KeyPath:
    found = _app_entry(config, app)
    if found is None:
        raise RollbackError(f"no app named {app} in paved:apps")
    return ("paved:apps", found[0], "image")


def _image_at(directory: Path, commit: str, path: str, app: str) -> str | None:
    try:
        text = _git(directory, "show", f"{commit}:{path}")
        config = (yaml.safe_load(text) or {}).get("config")
    except (RollbackError, yaml.YAMLError, AttributeError):
        return None  # the file did not exist then, or did not parse: no release of the app there
    found = _app_entry(config, app)
    image = found[1].get("image") if found is not None else None
    return image if isinstance(image, str) else None


def _stack_path(stack_file: Path) -> tuple[Path, str]:
    """The checkout's root, and the stack file's path in it (as git names it)."""
    directory = stack_file.resolve().parent
    root = Path(_git(directory, "rev-parse", "--show-toplevel").strip())
    return root, stack_file.resolve().relative_to(root).as_posix()


def changed_since(
    stack_file: Path, since: str, current: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """What a failed release changed: each app of `current` (name -> image) whose image differs from the
    stack file's at commit `since` (the release before), mapped to that image; and the apps the stack file
    did not have then, which a rollback cannot return to anything."""
    root, path = _stack_path(stack_file)
    _git(root, "cat-file", "-e", f"{since}^{{commit}}")
    previous: dict[str, str] = {}
    new: list[str] = []
    for app, image in current.items():
        before = _image_at(root, since, path, app)
        if before is None:
            new.append(app)
        elif before != image:
            previous[app] = before
    return previous, new


def previous_revision(stack_file: Path, app: str, current: str) -> Revision:
    """The image of `app` in the newest committed version of the stack file where it differs from
    `current`, with the commit that released it."""
    root, path = _stack_path(stack_file)
    log = _git(root, "log", "--format=%H%x09%cs%x09%s", "--", path)
    found: Revision | None = None
    for line in log.splitlines():
        commit, date, subject = line.split("\t", 2)
        image = _image_at(root, commit, path, app)
        if found is None and image is not None and image != current:
            found = Revision(commit, date, subject, image)
        elif found is not None and image == found.image:
            found = Revision(commit, date, subject, found.image)  # further back: the commit that released it
        elif found is not None:
            break
    if found is None:
        raise RollbackError(
            f"no commit of {path} gives {app} another image than {current}: nothing to return to"
        )
    return found
