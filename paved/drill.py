"""Restore drills (issue #17): restoring the stack's database to a point in time as a tagged drill
instance, measuring and verifying it, and cleaning up what drills leave behind.

A drill instance carries two tags that `paved drill` writes on it: `paved:drill` (the drill's id) and
`paved:stack` (the stack it was restored from). The stack's own resources carry only `environment` and
`managed-by`, which two stacks of one environment share, so they can't tell one stack's drills from
another's. Cleanup acts on an instance only when it carries both tags, the second naming the stack asked for:
never on the stack's own database, and never on another stack's drill.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from components.database import DRILL_METRIC_NAMESPACE

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


@dataclass(frozen=True)
class DrillGroup:
    group_id: str
    name: str
    drill_id: str


def drill_security_groups(ec2: Any, stack: str) -> list[DrillGroup]:
    """Every security group tagged as a drill of `stack` (a drill makes one per run), in name order."""
    found: list[DrillGroup] = []
    filters = [{"Name": "tag-key", "Values": [DRILL_TAG]}, {"Name": f"tag:{STACK_TAG}", "Values": [stack]}]
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=filters):
        for group in page.get("SecurityGroups", []):
            tags = {tag.get("Key", ""): tag.get("Value", "") for tag in group.get("Tags") or []}
            if DRILL_TAG in tags and tags.get(STACK_TAG) == stack:
                found.append(DrillGroup(group["GroupId"], group.get("GroupName", ""), tags[DRILL_TAG]))
    return sorted(found, key=lambda group: group.name)


def plan_lines(
    stack: str,
    region: str | None,
    instances: list[DrillInstance],
    groups: Sequence[DrillGroup] = (),
    caches: Sequence[tuple[str, str]] = (),
) -> Iterator[str]:
    """What cleanup will delete; `caches` are drill replication groups as (group id, drill id)."""
    where = f" in {region}" if region else ""
    if not instances and not groups and not caches:
        yield f"No drill instances of stack {stack}{where}: nothing to clean up."
        return
    counts = [
        (len(instances), "drill instance"),
        (len(caches), "drill cache"),
        (len(groups), "drill security group"),
    ]
    count = ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n)
    yield f"Drill cleanup of stack {stack}{where}: {count}"
    width = max(
        len(item)
        for item in [
            *(i.identifier for i in instances),
            *(g.group_id for g in groups),
            *(c for c, _ in caches),
        ]
    )
    for instance in instances:
        protection = "on" if instance.deletion_protection else "off"
        note = f", already {instance.status}" if instance.status == _DELETING else ""
        yield (
            f"  {instance.identifier:<{width}}  drill {instance.drill_id or '(no id)'}  "
            f"deletion protection {protection}{note}"
        )
    for group_id, drill_id in caches:
        yield f"  {group_id:<{width}}  drill {drill_id or '(no id)'}  replication group"
    for group in groups:
        yield f"  {group.group_id:<{width}}  drill {group.drill_id or '(no id)'}  security group {group.name}"
    if instances:
        yield (
            "Each instance will have deletion protection turned off (where on) and be deleted without a "
            "final snapshot and with its automated backups: a drill instance holds no data of its own."
        )
    if caches:
        yield "Each replication group is deleted without a final snapshot: it is a copy of one."
    if groups:
        yield "Each group is deleted once no instance uses it."


def delete_group(ec2: Any, group: DrillGroup) -> Outcome:
    try:
        ec2.delete_security_group(GroupId=group.group_id)
    except ClientError as error:
        code = _error_code(error)
        if code == "InvalidGroup.NotFound":
            return Outcome(group.group_id, "already gone")
        if code == "DependencyViolation":
            return Outcome(
                group.group_id,
                "still in use (its instance is being deleted): run cleanup again later",
                failed=True,
            )
        return Outcome(group.group_id, f"failed: {error_text(error)}", failed=True)
    except BotoCoreError as error:
        return Outcome(group.group_id, f"failed: {error_text(error)}", failed=True)
    return Outcome(group.group_id, "deleted")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_text(error: ClientError | BotoCoreError) -> str:
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
        if code == "InvalidDBInstanceState" and "delet" in error_text(error).lower():
            return Outcome(name, "already deleting")
        return Outcome(name, f"failed: {error_text(error)}", failed=True)
    except BotoCoreError as error:
        return Outcome(name, f"failed: {error_text(error)}", failed=True)
    unprotected = "deletion protection turned off; " if instance.deletion_protection else ""
    return Outcome(name, f"{unprotected}deleting")


# -- restore drill ---------------------------------------------------------------------------------------

# RDS instance identifiers: 1-63 letters, digits and hyphens, starting with a letter, no "--", no trailing
# hyphen (RestoreDBInstanceToPointInTime's doc; botocore does not check it).
_IDENTIFIER_LIMIT = 63


class DrillError(Exception):
    """A drill that could not start: nothing was created."""


@dataclass(frozen=True)
class Source:
    """The stack's database as the drill restores and compares against it."""

    identifier: str
    engine: str
    engine_version: str
    instance_class: str
    kms_key_id: str
    subnet_group: str
    vpc_id: str
    parameter_group: str
    storage_type: str
    allocated_storage: int
    iops: int | None
    latest_restorable: datetime | None
    arn: str = ""
    resource_id: str = ""  # DbiResourceId: replicated automated backups keep it


@dataclass(frozen=True)
class Placement:
    """Where a drill's copy goes and what it is checked against: the source's own subnet group, parameter
    group and key, or in the DR region the pilot light's groups and the replication key."""

    subnet_group: str
    vpc_id: str
    parameter_group: str
    kms_key_id: str
    key_name: str  # how the checks name the key

    @classmethod
    def of_source(cls, source: Source) -> Placement:
        return cls(
            source.subnet_group, source.vpc_id, source.parameter_group, source.kms_key_id, "the source's key"
        )


@dataclass(frozen=True)
class ReplicatedBackup:
    """The source's automated backups as replicated into another region."""

    arn: str
    region: str
    kms_key_id: str
    latest_time: datetime | None  # RestoreWindow.LatestTime: the newest point a restore from it can reach


@dataclass
class DrillReport:
    stack: str
    drill_id: str
    source: str
    target: str
    region: str
    restore_point: str  # "latest", the ISO time asked for, or the snapshot restored
    restored_in: str = ""  # the region of the drill's copy, when it is not the source's (a DR drill)
    # What was restored: a "database" instance, or a "cache" replication group (its metric dimension).
    kind: str = "database"
    requested_at: str = ""
    available_at: str = ""
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    latest_restorable_time: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    deleted: bool = False
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error and bool(self.checks) and all(passed for _, passed, _ in self.checks)

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["checks"] = [
            {"check": name, "passed": ok, "detail": detail} for name, ok, detail in self.checks
        ]
        document["succeeded"] = self.succeeded
        return document

    def as_markdown(self) -> str:
        verdict = "succeeded" if self.succeeded else "FAILED"
        rows = "\n".join(
            f"| {name} | {'pass' if ok else 'FAIL'} | {detail} |" for name, ok, detail in self.checks
        )
        point, copy = _KINDS[self.kind]
        if self.restored_in and self.restored_in != self.region:
            point = "the replicated backups' RestoreWindow.LatestTime"
        return (
            f"# Restore drill {self.drill_id} of stack {self.stack}: {verdict}\n\n"
            f"- Source: `{self.source}` in {self.region}\n"
            f"- Restored as `{self.target}` to {self.restore_point}"
            + (f", in {self.restored_in}" if self.restored_in and self.restored_in != self.region else "")
            + "\n"
            f"- Requested {self.requested_at or 'n/a'}, available {self.available_at or 'n/a'}\n"
            f"- RTO (request to available): {_seconds(self.rto_seconds)}\n"
            f"- RPO (request time minus {point} {self.latest_restorable_time or 'n/a'}): "
            f"{_seconds(self.rpo_seconds)}\n"
            f"- Drill {copy} deleted: {'yes' if self.deleted else 'no'}\n"
            + (f"- Error: {self.error}\n" if self.error else "")
            + f"\n| check | result | detail |\n|---|---|---|\n{rows}\n"
        )


# Per kind of drill: what its RPO is measured from, what its copy is, and the metric dimension naming
# the source.
_KINDS = {
    "database": ("LatestRestorableTime", "instance"),
    "cache": ("the snapshot's creation time", "replication group"),
}
_SOURCE_DIMENSIONS = {"database": "DBInstance", "cache": "ReplicationGroup"}


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} s"


def source_database(rds: Any, identifier: str) -> Source:
    try:
        [instance] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError as error:
        raise DrillError(f"cannot read the stack's database {identifier}: {error_text(error)}") from None
    subnet_group = instance.get("DBSubnetGroup") or {}
    parameter_groups = instance.get("DBParameterGroups") or [{}]
    return Source(
        identifier=identifier,
        engine=instance.get("Engine", ""),
        engine_version=instance.get("EngineVersion", ""),
        instance_class=instance.get("DBInstanceClass", ""),
        kms_key_id=instance.get("KmsKeyId", ""),
        subnet_group=subnet_group.get("DBSubnetGroupName", ""),
        vpc_id=subnet_group.get("VpcId", ""),
        parameter_group=parameter_groups[0].get("DBParameterGroupName", ""),
        storage_type=instance.get("StorageType", ""),
        allocated_storage=int(instance.get("AllocatedStorage") or 0),
        iops=instance.get("Iops"),
        latest_restorable=instance.get("LatestRestorableTime"),
        arn=instance.get("DBInstanceArn", ""),
        resource_id=instance.get("DbiResourceId", ""),
    )


def replicated_backup(rds: Any, source: Source) -> ReplicatedBackup:
    """The source's automated backups replicated into `rds`'s region: found by the source's DbiResourceId,
    which replication keeps, and its DBInstanceArn (DescribeDBInstanceAutomatedBackups in the destination
    region)."""
    region = rds.meta.region_name
    try:
        found = rds.describe_db_instance_automated_backups(DbiResourceId=source.resource_id)
    except ClientError as error:
        raise DrillError(
            f"cannot read the automated backups replicated to {region}: {error_text(error)}"
        ) from None
    replicated = [
        backup
        for backup in found.get("DBInstanceAutomatedBackups") or []
        if backup.get("DBInstanceArn") == source.arn and backup.get("DBInstanceAutomatedBackupsArn")
    ]
    if not replicated:
        raise DrillError(
            f"no automated backups of {source.identifier} are replicated to {region}: the stack replicates "
            "them when paved:dr.region is set (the backup component's automated-backups replication)"
        )
    backup = replicated[0]
    return ReplicatedBackup(
        arn=backup["DBInstanceAutomatedBackupsArn"],
        region=region,
        kms_key_id=backup.get("KmsKeyId", ""),
        latest_time=(backup.get("RestoreWindow") or {}).get("LatestTime"),
    )


def dr_placement(rds: Any, subnet_group: str, parameter_group: str, backup: ReplicatedBackup) -> Placement:
    """The pilot light's subnet group (its VPC read from it) and parameter group, and the key the replicated
    backups are encrypted with, which a restore from them keeps."""
    try:
        [group] = rds.describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"]
    except ClientError as error:
        raise DrillError(
            f"cannot read the DR subnet group {subnet_group} in {backup.region}: {error_text(error)}"
        ) from None
    return Placement(
        subnet_group, group.get("VpcId", ""), parameter_group, backup.kms_key_id, "the DR replication key"
    )


def drill_identifier(source: str, drill_id: str) -> str:
    suffix = f"-drill-{drill_id}"
    return f"{source[: _IDENTIFIER_LIMIT - len(suffix)].rstrip('-')}{suffix}"


def restore_plan_lines(
    source: Source,
    target: str,
    restore_time: datetime | None,
    keep: bool,
    placement: Placement | None = None,
    backup: ReplicatedBackup | None = None,
    connect_namespace: str | None = None,
) -> Iterator[str]:
    placement = placement or Placement.of_source(source)
    point = restore_time.isoformat() if restore_time else "its latest restorable time"
    origin = (
        f"{source.identifier}'s automated backups replicated to {backup.region} ({backup.arn})"
        if backup
        else source.identifier
    )
    yield f"Restore drill: {origin} to {point}, as a new instance {target}"
    yield (
        f"  into subnet group {placement.subnet_group} (VPC {placement.vpc_id}), with parameter group "
        f"{placement.parameter_group}, {source.instance_class}, single-AZ, not public, IAM authentication on"
    )
    yield "  behind a new drill security group that admits nothing, tagged like the instance"
    yield (
        f"  then check engine and version against the source, {placement.key_name}, parameter group, "
        "network and storage"
    )
    if connect_namespace:
        yield (
            "  then set a new master password on the drill instance, admit the app nodes' security group on "
            f"its port, and run SELECT 1 from a Job in namespace {connect_namespace}"
        )
    yield (
        "  then keep the drill instance (--keep)"
        if keep
        else "  then delete the drill instance (no final snapshot: it holds no data of its own) and its group"
    )


def drill_tags(stack: str, drill_id: str) -> list[dict[str, str]]:
    return [{"Key": DRILL_TAG, "Value": drill_id}, {"Key": STACK_TAG, "Value": stack}]


def drill_security_group(ec2: Any, vpc_id: str, stack: str, drill_id: str) -> str:
    """A group in the source's VPC with no rule at all: nothing reaches the drill's copy, and it reaches
    nothing."""
    group_id = ec2.create_security_group(
        GroupName=f"paved-drill-{stack}-{drill_id}",
        Description=f"paved restore drill {drill_id} of stack {stack}: admits nothing",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": drill_tags(stack, drill_id)}],
    )["GroupId"]
    egress = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0].get("IpPermissionsEgress")
    if egress:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=egress)
    return group_id


def wait_until_available(
    rds: Any,
    identifier: str,
    *,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str:
    """The `DBInstanceAvailable` waiter's acceptors (botocore's RDS waiter model), polled on the given clock:
    '' once available, else why not (a failure state, or the timeout)."""
    return wait_for(
        rds.get_waiter("db_instance_available"),
        lambda: rds.describe_db_instances(DBInstanceIdentifier=identifier),
        lambda response: str(response["DBInstances"][0].get("DBInstanceStatus")),
        timeout=timeout,
        clock=clock,
        sleep=sleep,
    )


def wait_for(
    waiter: Any,
    describe: Callable[[], Any],
    status: Callable[[Any], str],
    *,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str:
    """A botocore waiter's own acceptors and delay, applied to `describe()` on the given clock rather than
    the waiter's attempt count: '' on its success state, else why not (its failure state, or the
    timeout), with the status `status` reads from the last response."""
    config = waiter.config
    deadline = clock() + timeout
    while True:
        try:
            response = describe()
        except ClientError as error:
            response = error.response  # what the waiter's "error" acceptors match (a NotFound, say)
        state = str(response["Error"].get("Code")) if "Error" in response else status(response)
        for acceptor in config.acceptors:
            if acceptor.matcher_func(response):
                if acceptor.state == "success":
                    return ""
                if acceptor.state == "failure":
                    return f"it ended in status {state}"
        if clock() >= deadline:
            return f"not done within {timeout:.0f} s (status {state})"
        sleep(min(config.delay, max(deadline - clock(), 0)))


def verify_restored(
    rds: Any, target: str, source: Source, placement: Placement, security_group: str
) -> list[tuple[str, bool, str]]:
    """What the restore had to get right, read back from the instance rather than trusted from the call."""
    [restored] = rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"]
    groups = [g.get("VpcSecurityGroupId") for g in restored.get("VpcSecurityGroups") or []]
    parameter_groups = [g.get("DBParameterGroupName") for g in restored.get("DBParameterGroups") or []]
    expected_version = f"{source.engine} {source.engine_version}"
    actual_version = f"{restored.get('Engine')} {restored.get('EngineVersion')}"
    storage = f"{restored.get('StorageType')} {restored.get('AllocatedStorage')} GiB"
    return [
        ("engine and version", actual_version == expected_version, actual_version),
        (
            f"encrypted with {placement.key_name}",
            bool(restored.get("StorageEncrypted")) and restored.get("KmsKeyId") == placement.kms_key_id,
            str(restored.get("KmsKeyId") or "not encrypted"),
        ),
        (
            "parameter group",
            parameter_groups == [placement.parameter_group],
            ", ".join(map(str, parameter_groups)),
        ),
        (
            "subnet group",
            (restored.get("DBSubnetGroup") or {}).get("DBSubnetGroupName") == placement.subnet_group,
            str((restored.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")),
        ),
        ("only the drill security group", groups == [security_group], ", ".join(map(str, groups))),
        (
            "not publicly accessible",
            restored.get("PubliclyAccessible") is False,
            str(restored.get("PubliclyAccessible")),
        ),
        (
            "storage as the source's",
            restored.get("StorageType") == source.storage_type
            and int(restored.get("AllocatedStorage") or 0) >= source.allocated_storage,
            storage,
        ),
        (
            "IAM authentication on",
            bool(restored.get("IAMDatabaseAuthenticationEnabled")),
            str(restored.get("IAMDatabaseAuthenticationEnabled")),
        ),
    ]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def run_restore_drill(
    clients: DrillClients,
    stack: str,
    source: Source,
    drill_id: str,
    *,
    restore_time: datetime | None,
    keep: bool,
    timeout: float,
    now: Callable[[], datetime],
    clock: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
    backup: ReplicatedBackup | None = None,
    placement: Placement | None = None,
    connect: Callable[[str, str], tuple[str, bool, str]] | None = None,
) -> DrillReport:
    """Restore, wait, verify, measure, report metrics, and (unless `keep`) delete what the drill created.

    `connect(instance, drill group)`, when given, is one more check once the instance is available (the
    `SELECT 1` of paved.drill_connect).

    With `backup` (and its `placement`), the restore is in the DR region, from the source's replicated
    automated backups (`SourceDBInstanceAutomatedBackupsArn`), made and read through `clients.backups`; its
    RPO is measured from the backups' RestoreWindow.LatestTime. Else it is in the source's own region.

    Whatever happens after the drill security group exists, the drill's own resources are deleted unless
    `keep`, and only resources tagged as this stack's drill are."""
    rds = clients.rds
    placement = placement or Placement.of_source(source)
    target = drill_identifier(source.identifier, drill_id)
    report = DrillReport(
        stack=stack,
        drill_id=drill_id,
        source=source.identifier,
        target=target,
        region=source_region(source, rds),
        restored_in=rds.meta.region_name,
        restore_point=iso(restore_time) if restore_time else "latest",
    )
    group = drill_security_group(clients.ec2, placement.vpc_id, stack, drill_id)
    point: dict[str, Any] = (
        {"RestoreTime": restore_time} if restore_time else {"UseLatestRestorableTime": True}
    )
    storage: dict[str, Any] = {"StorageType": source.storage_type}
    if source.iops and source.storage_type in {"gp3", "io1", "io2"}:
        storage["Iops"] = source.iops

    if backup is None:
        restores, origin = rds, {"SourceDBInstanceIdentifier": source.identifier}

        def recovery_point() -> datetime | None:
            # Read just before the request: RDS ships transaction logs every 5 minutes.
            return source_database(rds, source.identifier).latest_restorable
    else:
        restores, origin = clients.backups, {"SourceDBInstanceAutomatedBackupsArn": backup.arn}

        def recovery_point() -> datetime | None:
            return replicated_backup(clients.backups, source).latest_time

    def restore() -> None:
        restores.restore_db_instance_to_point_in_time(
            **origin,
            TargetDBInstanceIdentifier=target,
            DBInstanceClass=source.instance_class,
            DBSubnetGroupName=placement.subnet_group,
            VpcSecurityGroupIds=[group],
            DBParameterGroupName=placement.parameter_group,
            MultiAZ=False,
            PubliclyAccessible=False,
            EnableIAMDatabaseAuthentication=True,
            DeletionProtection=False,
            CopyTagsToSnapshot=False,
            Tags=drill_tags(stack, drill_id),
            **point,
            **storage,
        )

    return run_drill(
        report,
        DrillSteps(
            recovery_point=recovery_point,
            restore=restore,
            wait=lambda: wait_until_available(rds, target, timeout=timeout, clock=clock, sleep=sleep),
            verify=lambda: [
                *verify_restored(rds, target, source, placement, group),
                *([connect(target, group)] if connect else []),
            ],
            delete=lambda: _delete_drill(clients, stack, target, group, sleep=sleep),
        ),
        cloudwatch=clients.cloudwatch,
        keep=keep,
        now=now,
        clock=clock,
    )


@dataclass(frozen=True)
class DrillSteps:
    """What one kind of drill does at each step of `run_drill`."""

    recovery_point: Callable[[], datetime | None]  # the newest data the restore can hold (for the RPO)
    restore: Callable[[], None]
    wait: Callable[[], str]  # '' once the copy is available, else why not
    verify: Callable[[], list[tuple[str, bool, str]]]
    delete: Callable[[], bool]  # True when the drill's copy is (being) deleted


def run_drill(
    report: DrillReport,
    steps: DrillSteps,
    *,
    cloudwatch: Any,
    keep: bool,
    now: Callable[[], datetime],
    clock: Callable[[], float],
) -> DrillReport:
    """Measure, restore, wait, verify, report metrics, and (unless `keep`) delete: whatever fails midway,
    the metrics are sent and the drill's own resources are deleted."""
    try:
        requested, started = now(), clock()
        report.requested_at = iso(requested)
        latest = steps.recovery_point()
        if latest is not None:
            report.latest_restorable_time = iso(latest)
            report.rpo_seconds = max((requested - latest).total_seconds(), 0.0)
        steps.restore()
        problem = steps.wait()
        if problem:
            report.error = problem
        else:
            report.rto_seconds = clock() - started
            report.available_at = iso(now())
            report.checks = steps.verify()
    except (ClientError, BotoCoreError) as error:
        report.error = error_text(error)
    finally:
        report_metrics(cloudwatch, report)
        if not keep:
            report.deleted = steps.delete()
    return report


def report_metrics(cloudwatch: Any, report: DrillReport) -> None:
    """`paved/RestoreDrill` metrics of the drill: Success always, RTO and RPO when it succeeded."""
    cloudwatch.put_metric_data(Namespace=DRILL_METRIC_NAMESPACE, MetricData=_metrics(report))


def _metrics(report: DrillReport) -> list[dict[str, Any]]:
    dimensions = [
        {"Name": "Stack", "Value": report.stack},
        {"Name": _SOURCE_DIMENSIONS[report.kind], "Value": report.source},
    ]
    data = [{"MetricName": "Success", "Value": 1.0 if report.succeeded else 0.0, "Unit": "Count"}]
    for name, value in (("RTOSeconds", report.rto_seconds), ("RPOSeconds", report.rpo_seconds)):
        if value is not None and report.succeeded:
            data.append({"MetricName": name, "Value": value, "Unit": "Seconds"})
    return [{**datum, "Dimensions": dimensions} for datum in data]


def _delete_drill(
    clients: DrillClients, stack: str, target: str, group: str, *, sleep: Callable[[float], None]
) -> bool:
    """Delete the drill instance (only when it carries this stack's drill tags) and then its group."""
    mine = [instance for instance in drill_instances(clients.rds, stack) if instance.identifier == target]
    if mine and clean_up(clients.rds, mine[0], sleep=sleep).failed:
        return False
    if mine:
        waiter = clients.rds.get_waiter("db_instance_deleted")
        waiter.wait(DBInstanceIdentifier=target)
    clients.ec2.delete_security_group(GroupId=group)
    return bool(mine)


@dataclass(frozen=True)
class DrillClients:
    """The clients of the region the drill restores in (`rds`, `ec2`), and of the region whose alarm
    watches drills (`cloudwatch`: the source's)."""

    rds: Any
    ec2: Any
    cloudwatch: Any
    # For a restore from replicated automated backups: finding them, and restoring from one. In use, the
    # same client as `rds`; moto has neither call, so the tests stub this client alone.
    backups: Any = None


def source_region(source: Source, rds: Any) -> str:
    """The source's region, from its ARN (`arn:aws:rds:<region>:...`); else `rds`'s."""
    parts = source.arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else rds.meta.region_name
