"""Restore drills (issue #17): finding and cleaning up the DB instances a drill left behind.

A drill instance carries two tags that `paved drill` writes on it: `paved:drill` (the drill's id) and
`paved:stack` (the stack it was restored from). The stack's own resources carry only `environment` and
`managed-by`, which two stacks of one environment share, so they can't tell one stack's drills from
another's. Cleanup acts on an instance only when it carries both tags, the second naming the stack asked for:
never on the stack's own database, and never on another stack's drill.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

DRILL_TAG = "paved:drill"
STACK_TAG = "paved:stack"

# Errors that mean the instance is already gone: nothing left to clean up.
_NOT_FOUND = {"DBInstanceNotFound", "DBInstanceNotFoundFault"}
# The status of an instance whose deletion has already started.
_DELETING = "deleting"


@dataclass(frozen=True)
class DrillInstance:
    identifier: str
    drill_id: str
    deletion_protection: bool
    status: str


@dataclass(frozen=True)
class Outcome:
    identifier: str
    message: str
    failed: bool = False


def _tags(instance: dict[str, Any]) -> dict[str, str]:
    return {tag.get("Key", ""): tag.get("Value", "") for tag in instance.get("TagList") or []}


def drill_instances(rds: Any, stack: str) -> list[DrillInstance]:
    """Every DB instance tagged as a drill of `stack`, in identifier order.

    Raises botocore's ClientError/BotoCoreError when the instances can't be listed.
    """
    found: list[DrillInstance] = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        for instance in page.get("DBInstances", []):
            tags = _tags(instance)
            if DRILL_TAG not in tags or tags.get(STACK_TAG) != stack:
                continue
            found.append(
                DrillInstance(
                    identifier=instance["DBInstanceIdentifier"],
                    drill_id=tags[DRILL_TAG],
                    deletion_protection=bool(instance.get("DeletionProtection")),
                    status=instance.get("DBInstanceStatus", ""),
                )
            )
    return sorted(found, key=lambda found_instance: found_instance.identifier)


def plan_lines(stack: str, region: str | None, instances: list[DrillInstance]) -> Iterator[str]:
    where = f" in {region}" if region else ""
    if not instances:
        yield f"No drill instances of stack {stack}{where}: nothing to clean up."
        return
    count = f"{len(instances)} drill instance{'s' if len(instances) != 1 else ''}"
    yield f"Drill cleanup of stack {stack}{where}: {count}"
    width = max(len(instance.identifier) for instance in instances)
    for instance in instances:
        protection = "on" if instance.deletion_protection else "off"
        note = f", already {instance.status}" if instance.status == _DELETING else ""
        yield (
            f"  {instance.identifier:<{width}}  drill {instance.drill_id or '(no id)'}  "
            f"deletion protection {protection}{note}"
        )
    yield (
        "Each will have deletion protection turned off (where on) and be deleted without a final snapshot "
        "and with its automated backups: a drill instance holds no data of its own."
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_text(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return f"{_error_code(error)}: {error.response.get('Error', {}).get('Message', '')}"
    return str(error)


def _wait_unprotected(
    rds: Any, identifier: str, sleep: Callable[[float], None], attempts: int, delay: float
) -> bool:
    """Poll until the instance reports deletion protection off; False when it still doesn't."""
    for attempt in range(attempts):
        [instance] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        if not instance.get("DeletionProtection"):
            return True
        if attempt + 1 < attempts:
            sleep(delay)
    return False


def clean_up(
    rds: Any,
    instance: DrillInstance,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 30,
    delay: float = 2.0,
) -> Outcome:
    """Delete one drill instance: turn off its deletion protection first when on. An instance already
    deleting or gone is reported as such, not as a failure."""
    name = instance.identifier
    if instance.status == _DELETING:
        return Outcome(name, "already deleting")
    try:
        if instance.deletion_protection:
            rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)
            if not _wait_unprotected(rds, name, sleep, attempts, delay):
                return Outcome(name, "deletion protection is still on; not deleted", failed=True)
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    except ClientError as error:
        code = _error_code(error)
        if code in _NOT_FOUND:
            return Outcome(name, "already gone")
        if code == "InvalidDBInstanceState" and "delet" in _error_text(error).lower():
            return Outcome(name, "already deleting")
        return Outcome(name, f"failed: {_error_text(error)}", failed=True)
    except BotoCoreError as error:
        return Outcome(name, f"failed: {_error_text(error)}", failed=True)
    unprotected = "deletion protection turned off; " if instance.deletion_protection else ""
    return Outcome(name, f"{unprotected}deleting")
