"""`paved secrets rotate` (issue #17): rotate one of the stack's secrets the way it is made.

paved generates most secret values inside Pulumi (`random`, written with write-only arguments), keyed by a
version in the stack file. Rotating one means raising that version and running `pulumi up`: writing a value
into Secrets Manager from outside would be drift that the next `up` undoes. So this command edits the stack
file (keeping its comments and layout) and runs or prints the `up`. A secret whose rotation Secrets Manager
runs itself (the RDS-managed master password) is rotated there instead, with `RotateSecret`. A secret that
a person fills (`external`) is theirs to rotate: the command says how and changes nothing.

Either way the pods follow: External Secrets reads the new value within `paved:cluster.secretRefreshMinutes`,
and Reloader rolls the Deployments that use it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from paved.config import StackConfig

# Names of the secrets paved makes for itself, beside the apps' own (`paved:secrets`).
CACHE_AUTH_TOKEN = "cache-auth-token"
DATABASE_PASSWORD = "database-password"
ORIGIN_SECRET = "origin-secret"
DATABASE_USER = "database-user:"  # + the app's name


class RotationError(Exception):
    """A secret that can't be rotated by this command, said with what to do instead."""


KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Rotation:
    """How `secret` rotates: by raising the version at `key` in the stack file (`version`), or by Secrets
    Manager's own rotation of the secret in the stack output `output` (`managed`)."""

    secret: str
    how: Literal["version", "managed"]
    key: KeyPath = ()
    current: int = 0
    output: str = ""

    @property
    def key_text(self) -> str:
        head, *rest = self.key
        text = str(head)
        for part in rest:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text


def plan(secret: str, config: StackConfig) -> Rotation:
    """How `secret` of the stack rotates; RotationError for one that can't be, or isn't known."""
    if secret in config.secrets:
        spec = config.secrets[secret]
        if spec.source == "generated":
            return Rotation(secret, "version", ("paved:secrets", secret, "version"), spec.version)
        if spec.source == "cacheUrl":
            return Rotation(
                secret, "version", ("paved:cache", "authTokenVersion"), config.cache.auth_token_version
            )
        raise RotationError(
            f"{secret} is external: its owner puts a new value with `aws secretsmanager put-secret-value`; "
            "paved never writes secret values outside Pulumi"
        )
    if secret == CACHE_AUTH_TOKEN:
        return Rotation(
            secret, "version", ("paved:cache", "authTokenVersion"), config.cache.auth_token_version
        )
    if secret == ORIGIN_SECRET:
        return Rotation(
            secret, "version", ("paved:edge", "originSecretVersion"), config.edge.origin_secret_version
        )
    if secret == DATABASE_PASSWORD:
        if config.database.managed_password:
            return Rotation(secret, "managed", output="database_master_secret_arn")
        return Rotation(
            secret, "version", ("paved:database", "passwordVersion"), config.database.password_version
        )
    if secret.startswith(DATABASE_USER):
        return _database_user(secret, secret.removeprefix(DATABASE_USER), config)
    known = [*config.secrets, CACHE_AUTH_TOKEN, DATABASE_PASSWORD, ORIGIN_SECRET]
    known += [f"{DATABASE_USER}{app.name}" for app in config.apps if app.database is not None]
    raise RotationError(f"{secret} is not a secret of this stack; its secrets: {', '.join(known)}")


def _database_user(secret: str, app_name: str, config: StackConfig) -> Rotation:
    for index, app in enumerate(config.apps):
        if app.name != app_name:
            continue
        if app.database is None:
            raise RotationError(f"app {app_name} does not use the database")
        if app.database.auth != "password":
            raise RotationError(f"app {app_name} logs in with IAM: it has no password to rotate")
        return Rotation(
            secret,
            "version",
            ("paved:apps", index, "database", "passwordVersion"),
            app.database.password_version,
        )
    raise RotationError(f"no app named {app_name}")


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting are kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def raised(stack_file: Path, key: KeyPath, version: int) -> str:
    """The stack file's text with the value at `key` (under `config:`) set to `version`, maps created where
    the file relies on the preset. RotationError where the file holds that part of config in a form this
    can't edit in place (a JSON string)."""
    yaml = _yaml()
    document = yaml.load(stack_file.read_text())
    node: Any = document.setdefault("config", CommentedMap())
    for depth, part in enumerate(key[:-1]):
        following = key[depth + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise RotationError(f"{stack_file}: no entry {part} at {key[:depth]}")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise RotationError(f"{stack_file}: {part} is not in a map this can edit; raise it by hand")
        if part not in node:
            if isinstance(following, int):
                raise RotationError(f"{stack_file}: no {part} list to edit")
            node[part] = CommentedMap()
        node = node[part]
    if not isinstance(node, dict):
        raise RotationError(
            f"{stack_file}: {'.'.join(map(str, key[:-1]))} is not a YAML map (a JSON string?); raise "
            f"{key[-1]} by hand"
        )
    node[key[-1]] = version
    text = io.StringIO()
    yaml.dump(document, text)
    return text.getvalue()


def next_steps(stack: str, refresh_minutes: int) -> Sequence[str]:
    return (
        f"Next: `pulumi up --stack {stack}` generates the new value and writes it to Secrets Manager.",
        f"Pods follow within {refresh_minutes} min: External Secrets syncs the new value, and Reloader rolls "
        "the Deployments that use it.",
    )
