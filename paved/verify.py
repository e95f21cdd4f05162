"""`paved verify` (issue #17): after a deploy, read the stack's resources back from AWS and check that
they are in the state they were declared for. It only reads; it is safe to run in CI after every `up`.

The stack's resources are found by its outputs (`pulumi stack output --json`), which name what AWS named
(target groups, the ALB, certificates), and by the deterministic names paved gives (alarms `<stack>-*`).
Each check is a small function from clients, outputs and the time to a list of `Check`s, so a test can run
it alone against a moto server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from components.backup import COMPLETION_WINDOW_MINUTES, START_WINDOW_MINUTES

# The latest daily recovery point is at most a day old, plus the job's start and completion windows.
BACKUP_MAX_AGE = timedelta(days=1, minutes=START_WINDOW_MINUTES + COMPLETION_WINDOW_MINUTES)
# A copy to the DR vault starts when its backup job completes, and gets the same windows again.
DR_COPY_MAX_AGE = BACKUP_MAX_AGE + timedelta(minutes=START_WINDOW_MINUTES + COMPLETION_WINDOW_MINUTES)
# RDS uploads transaction logs every 5 minutes: LatestRestorableTime is normally within 5 minutes of now.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html
PITR_MAX_LAG = timedelta(minutes=10)
CERTIFICATE_MIN_VALIDITY = timedelta(days=30)
# CloudFront and its certificate live here, whatever the stack's region.
GLOBAL_REGION = "us-east-1"

# The stack outputs each check reads (__main__.py exports them; tests/test_verify.py holds the two equal).
OUTPUTS = frozenset(
    {
        "region",
        "dr_region",
        "edge_alb_arn",
        "edge_alb_target_group_arns",
        "edge_alb_web_acl_arn",
        "edge_certificate_arn",
        "cdn_distribution_id",
        "cdn_certificate_arn",
        "backup_vault_arn",
        "backup_dr_vault_arn",
        "database_identifier",
        "cluster_name",
        "secrets_app_secret_arns",
    }
)


@dataclass(frozen=True)
class Deployed(Mapping[str, Any]):
    """The stack's outputs, read like a map, and its name, which finds what paved names after it
    (alarms `<stack>-*`)."""

    stack: str
    outputs: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.outputs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(self.outputs)


class Status(Enum):
    PASS = "ok"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    check: str
    target: str
    status: Status
    detail: str


@dataclass(frozen=True)
class VerifyClients:
    """One boto3 client per service, by region: `client("rds", "eu-west-1")`."""

    client: Callable[[str, str], Any]


def _passed(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.PASS, detail)


def _failed(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.FAIL, detail)


def _skipped(check: str, detail: str) -> Check:
    return Check(check, "-", Status.SKIP, detail)


def _error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', '')}: {details.get('Message', '')}"
    return str(error)


def _age(moment: datetime, now: datetime) -> str:
    hours = (now - moment).total_seconds() / 3600
    return f"{hours:.1f} h old" if hours >= 1 else f"{hours * 60:.0f} min old"


def target_health(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    """Every target group has targets, and every target is healthy."""
    elbv2 = clients.client("elbv2", outputs["region"])
    for app, arn in sorted((outputs.get("edge_alb_target_group_arns") or {}).items()):
        states = [
            f"{target['Target']['Id']} {target['TargetHealth']['State']}"
            for target in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        ]
        unhealthy = [state for state in states if not state.endswith(" healthy")]
        if not states:
            yield _failed("targets", app, "no registered targets")
        elif unhealthy:
            yield _failed(
                "targets", app, f"{len(unhealthy)} of {len(states)} not healthy: {', '.join(unhealthy)}"
            )
        else:
            yield _passed("targets", app, f"{len(states)} healthy")


def load_balancer_waf(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    wafv2 = clients.client("wafv2", outputs["region"])
    alb, expected = outputs["edge_alb_arn"], outputs["edge_alb_web_acl_arn"]
    acl = wafv2.get_web_acl_for_resource(ResourceArn=alb).get("WebACL")
    if acl is None:
        yield _failed("waf", "alb", "no web ACL is associated")
    elif acl["ARN"] != expected:
        yield _failed("waf", "alb", f"web ACL {acl['Name']} is associated, not the stack's")
    else:
        yield _passed("waf", "alb", f"web ACL {acl['Name']}")


def distribution_waf(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    """`WebACLId` of the distribution's config: GetWebACLForResource does not serve CloudFront."""
    distribution = outputs.get("cdn_distribution_id")
    if not distribution:
        yield _skipped("waf", "no CloudFront distribution")
        return
    cloudfront = clients.client("cloudfront", GLOBAL_REGION)
    acl = cloudfront.get_distribution_config(Id=distribution)["DistributionConfig"].get("WebACLId")
    if acl:
        yield _passed(
            "waf", f"cdn {distribution}", f"web ACL {acl.rsplit('/', 2)[-2] if '/' in acl else acl}"
        )
    else:
        yield _failed("waf", f"cdn {distribution}", "no web ACL")


def alarms(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    """No alarm of the stack in ALARM, in its region and (with the CDN) in us-east-1. An alarm that treats
    missing data as missing sits in INSUFFICIENT_DATA while all is well, so that state is not a failure."""
    regions = [outputs["region"]] + ([GLOBAL_REGION] if outputs.get("cdn_distribution_id") else [])
    for region in dict.fromkeys(regions):
        cloudwatch = clients.client("cloudwatch", region)
        prefix = f"{outputs.stack}-"
        # Both filters again here: some AWS-compatible endpoints apply only one of them (moto 5.2.5 does).
        firing = [
            alarm["AlarmName"]
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]
            if alarm["StateValue"] == "ALARM" and alarm["AlarmName"].startswith(prefix)
        ]
        if firing:
            yield _failed("alarms", region, f"in ALARM: {', '.join(sorted(firing))}")
        else:
            yield _passed("alarms", region, "none in ALARM")


def _vault(arn: str) -> tuple[str, str]:
    """(region, name) of `arn:aws:backup:<region>:<account>:backup-vault:<name>`."""
    parts = arn.split(":")
    return parts[3], parts[-1]


def _latest_recovery_point(backup: Any, vault: str) -> datetime | None:
    completed = [
        point["CreationDate"]
        for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=vault
        )
        for point in page.get("RecoveryPoints", [])
        if point.get("Status") == "COMPLETED"
    ]
    return max(completed, default=None)


def _recovery_point_check(
    clients: VerifyClients, check: str, arn: str | None, max_age: timedelta, now: datetime
) -> Iterator[Check]:
    if not arn:
        yield _skipped(check, "no AWS Backup vault")
        return
    region, vault = _vault(arn)
    latest = _latest_recovery_point(clients.client("backup", region), vault)
    if latest is None:
        yield _failed(check, vault, "no completed recovery point")
    elif now - latest > max_age:
        limit = max_age.total_seconds() / 3600
        yield _failed(check, vault, f"latest recovery point is {_age(latest, now)} (limit {limit:.0f} h)")
    else:
        yield _passed(check, vault, f"latest recovery point is {_age(latest, now)}")


def recovery_points(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    yield from _recovery_point_check(clients, "backups", outputs.get("backup_vault_arn"), BACKUP_MAX_AGE, now)


def point_in_time(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    identifier = outputs["database_identifier"]
    rds = clients.client("rds", outputs["region"])
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    latest = instance.get("LatestRestorableTime")
    if latest is None:
        yield _failed("pitr", identifier, "no LatestRestorableTime: automated backups are off")
    elif now - latest > PITR_MAX_LAG:
        yield _failed("pitr", identifier, f"restorable only to {_age(latest, now)} (limit 10 min)")
    else:
        yield _passed("pitr", identifier, f"restorable to {_age(latest, now)}")


def disaster_recovery(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    """The DR vault's copies, and the database's automated backups replicated to the DR region."""
    dr_region = outputs.get("dr_region")
    if not dr_region:
        yield _skipped("dr", "no DR region")
        return
    yield from _recovery_point_check(clients, "dr", outputs.get("backup_dr_vault_arn"), DR_COPY_MAX_AGE, now)
    identifier = outputs["database_identifier"]
    rds = clients.client("rds", dr_region)
    replicated = [
        backup
        for backup in rds.describe_db_instance_automated_backups(DBInstanceIdentifier=identifier)[
            "DBInstanceAutomatedBackups"
        ]
        if backup.get("Region") == outputs["region"] and backup.get("Status") in ("replicating", "active")
    ]
    if not replicated:
        yield _failed("dr", f"{identifier} in {dr_region}", "no replicated automated backups")
        return
    latest = max((b.get("RestoreWindow", {}).get("LatestTime") for b in replicated), default=None, key=str)
    window = f", restorable to {_age(latest, now)}" if isinstance(latest, datetime) else ""
    yield _passed("dr", f"{identifier} in {dr_region}", f"automated backups replicated{window}")


def certificates(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    for output, region, label in (
        ("edge_certificate_arn", outputs["region"], "alb"),
        ("cdn_certificate_arn", GLOBAL_REGION, "cdn"),
    ):
        arn = outputs.get(output)
        if not arn:
            continue
        certificate = clients.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
        status, expires = certificate.get("Status"), certificate.get("NotAfter")
        if status != "ISSUED" or expires is None:
            yield _failed("certificate", label, f"status {status}")
        elif expires - now < CERTIFICATE_MIN_VALIDITY:
            yield _failed("certificate", label, f"expires {expires:%Y-%m-%d}, in {(expires - now).days} days")
        else:
            yield _passed("certificate", label, f"valid until {expires:%Y-%m-%d}")


def node_groups(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    cluster = outputs["cluster_name"]
    eks = clients.client("eks", outputs["region"])
    names = [
        name
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
        for name in page.get("nodegroups", [])
    ]
    if not names:
        yield _failed("nodes", cluster, "no node groups")
    for name in sorted(names):
        group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
        status = group.get("status")
        if status == "ACTIVE":
            yield _passed("nodes", name, "ACTIVE")
        else:
            issues = [issue.get("code", "") for issue in group.get("health", {}).get("issues", [])]
            yield _failed("nodes", name, f"{status}{': ' + ', '.join(issues) if issues else ''}")


def app_secrets(clients: VerifyClients, outputs: Deployed, now: datetime) -> Iterator[Check]:
    secretsmanager = clients.client("secretsmanager", outputs["region"])
    for name, arn in sorted((outputs.get("secrets_app_secret_arns") or {}).items()):
        try:
            secret = secretsmanager.describe_secret(SecretId=arn)
        except ClientError as error:
            yield _failed("secrets", name, _error(error))
            continue
        stages = [stage for stages in (secret.get("VersionIdsToStages") or {}).values() for stage in stages]
        if secret.get("DeletedDate"):
            yield _failed("secrets", name, "scheduled for deletion")
        elif "AWSCURRENT" not in stages:
            yield _failed("secrets", name, "no current version (AWSCURRENT)")
        else:
            yield _passed("secrets", name, "current version present")


CHECKS = (
    target_health,
    load_balancer_waf,
    distribution_waf,
    alarms,
    recovery_points,
    point_in_time,
    disaster_recovery,
    certificates,
    node_groups,
    app_secrets,
)


def missing_outputs(outputs: Mapping[str, Any]) -> list[str]:
    return sorted(OUTPUTS - set(outputs))


def verify(clients: VerifyClients, outputs: Mapping[str, Any], stack: str, now: datetime) -> list[Check]:
    """Every check, in order; a check whose calls fail is itself a failure, and the rest still run."""
    deployed = Deployed(stack, outputs)
    results: list[Check] = []
    for check in CHECKS:
        try:
            results.extend(check(clients, deployed, now))
        except (ClientError, BotoCoreError) as error:
            results.append(_failed(check.__name__, "-", f"could not check: {_error(error)}"))
    return results


def table(results: list[Check]) -> Iterator[str]:
    """One line a check (status, check, target, detail), columns aligned, then the count of failures."""
    check_width = max((len(result.check) for result in results), default=0)
    target_width = max((len(result.target) for result in results), default=0)
    for r in results:
        yield f"{r.status.value:<4}  {r.check:<{check_width}}  {r.target:<{target_width}}  {r.detail}"
    failed = sum(result.status is Status.FAIL for result in results)
    yield f"paved verify: {len(results)} checks, {failed} failed."
