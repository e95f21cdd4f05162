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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from paved.config import StackConfig
from paved.stack_edit import KeyPath

# Names of the secrets paved makes for itself, beside the apps' own (`paved:secrets`).
CACHE_AUTH_TOKEN = "cache-auth-token"
DATABASE_PASSWORD = "database-password"
ORIGIN_SECRET = "origin-secret"
DATABASE_USER = "database-user:"  # + the app's name


class RotationError(Exception):
    """A secret that can't be rotated by this command, said with what to do instead."""


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


def next_steps(stack: str, refresh_minutes: int) -> Sequence[str]:
    return (
        f"Next: `pulumi up --stack {stack}` generates the new value and writes it to Secrets Manager.",
        f"Pods follow within {refresh_minutes} min: External Secrets syncs the new value, and Reloader rolls "
        "the Deployments that use it.",
    )
