"""Nothing stateful can be lost by accident: every stateful resource of both stacks, and its guards.

Every resource type the stacks declare is classified here, as STATEFUL (holds data, or guards data, that a
deletion would lose) or STATELESS (recreated as it was from config). A type that is neither fails the test
until someone classifies it, so a new stateful resource cannot arrive unguarded.

In prod a stateful resource has Pulumi's `protect` and, where the service has one, its own deletion guard.
README's "Environments: what differs" table lists every guard that differs between staging and prod; the
test at the end keeps that table and the recorded inputs in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paved.recorder import RecordedResource, Recording

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("prod", "staging")


@dataclass(frozen=True)
class Guard:
    """The service's own deletion guard: the inputs it lies in, and a check of one resource in prod."""

    inputs: tuple[str, ...]
    check: Callable[[RecordedResource, Recording], bool]
    why: str


def _database(instance: RecordedResource, _: Recording) -> bool:
    inputs = instance.inputs
    if inputs["deletionProtection"] is not True:
        return False
    if "replicateSourceDb" in inputs:
        # RDS takes no final snapshot of a read replica; the writer's backups hold its data.
        return True
    return (
        inputs["skipFinalSnapshot"] is False
        and bool(inputs["finalSnapshotIdentifier"])
        and inputs["deleteAutomatedBackups"] is False
    )


def _vault_is_locked(vault: RecordedResource, recording: Recording) -> bool:
    locks = recording.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    return vault.inputs["forceDestroy"] is False and any(
        lock.property_dependencies.get("backupVaultName") == [vault.urn] for lock in locks
    )


def _no_service_guard(_: RecordedResource, __: Recording) -> bool:
    return True


def _is(input_name: str, value: bool, why: str) -> Guard:
    return Guard((input_name,), lambda resource, _: resource.inputs[input_name] is value, why)


def _at_least(input_name: str, minimum: int, why: str) -> Guard:
    return Guard((input_name,), lambda resource, _: resource.inputs[input_name] >= minimum, why)


STATEFUL: dict[str, Guard] = {
    "aws:rds/instance:Instance": Guard(
        ("deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "deleteAutomatedBackups"),
        _database,
        "deletion protection; the writer also takes a final snapshot and keeps its automated backups",
    ),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": Guard(
        (), _no_service_guard, "replicated backups in the DR region: RDS has no deletion guard for them"
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": Guard(
        ("finalSnapshotIdentifier",),
        lambda group, _: bool(group.inputs["finalSnapshotIdentifier"]),
        "ElastiCache has no deletion protection; a final snapshot is taken on deletion",
    ),
    "aws:s3/bucket:Bucket": _is(
        "forceDestroy", False, "S3 refuses to delete a bucket that still holds objects"
    ),
    "aws:kms/key:Key": _at_least(
        "deletionWindowInDays", 7, "deletion is only scheduled, and can be cancelled within the window"
    ),
    "aws:secretsmanager/secret:Secret": _at_least(
        "recoveryWindowInDays", 7, "a deleted secret can be restored within the recovery window"
    ),
    "aws:cloudwatch/logGroup:LogGroup": _is(
        "deletionProtectionEnabled",
        True,
        "CloudWatch Logs refuses DeleteLogGroup while deletion protection is on",
    ),
    "aws:backup/vault:Vault": Guard(
        ("forceDestroy",),
        _vault_is_locked,
        "AWS Backup refuses to delete a vault with recovery points; the vault lock keeps those points",
    ),
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": _at_least(
        "minRetentionDays", 1, "recovery points cannot be deleted before minRetentionDays"
    ),
    "aws:eks/cluster:Cluster": _is(
        "deletionProtection", True, "EKS refuses DeleteCluster while deletion protection is on"
    ),
    "aws:ecr/repository:Repository": _is(
        "forceDelete", False, "ECR refuses to delete a repository that still holds images"
    ),
}

# Recreated from config as they were: deleting one interrupts service at worst, and loses nothing.
STATELESS = {
    # A rule set; the images are in the (stateful) repository.
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    # Certificates are re-issued, DNS records and CDN configuration re-declared.
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
    "aws:cloudfront/distribution:Distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    # Backup plans and restore tests: schedules; the recovery points live in the (stateful) vaults.
    "aws:backup/plan:Plan",
    "aws:backup/selection:Selection",
    "aws:backup/restoreTestingPlan:RestoreTestingPlan",
    "aws:backup/restoreTestingSelection:RestoreTestingSelection",
    # Log routing and alarms; the logs themselves are in (stateful) log groups and buckets.
    "aws:cloudwatch/logDelivery:LogDelivery",
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    "aws:cloudwatch/logDeliverySource:LogDeliverySource",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:ec2/flowLog:FlowLog",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    "aws:sns/topic:Topic",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:rds/eventSubscription:EventSubscription",
    "aws:sns/topicSubscription:TopicSubscription",
    # Network. NAT gateways' Elastic IPs change if recreated: allowlists elsewhere must follow.
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/route:Route",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    # Compute around the (stateful) cluster: nodes are cattle, access and addons are config.
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:eks/addon:Addon",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    # Data-store settings; the data is in the (stateful) instance and replication group.
    "aws:elasticache/parameterGroup:ParameterGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/proxy:Proxy",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
    "aws:rds/proxyTarget:ProxyTarget",
    # A key's alias and policy are re-declared; the key material is in the (stateful) key.
    "aws:kms/alias:Alias",
    "aws:kms/keyPolicy:KeyPolicy",
    # The load balancer: its DNS name is only ever used through alias records paved re-declares.
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
    "aws:lb/targetGroup:TargetGroup",
    # A bucket's settings; the objects are in the (stateful) bucket.
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    # A secret's version: deleting the resource leaves the value in the (stateful) secret.
    "aws:secretsmanager/secretVersion:SecretVersion",
    # Generated values: a new one is a rotation, which the secrets' versions already model.
    "random:index/randomPassword:RandomPassword",
    # The uptime canary and its script: re-made from the repository; its runs' record is in CloudWatch
    # metrics and in the (protected) artifacts bucket.
    "aws:synthetics/canary:Canary",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    # SES sending setup, re-made from config. A new identity gets new DKIM tokens, whose records paved
    # rewrites; sending waits for SES to verify them, so prod protects the identity all the same.
    "aws:sesv2/configurationSet:ConfigurationSet",
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
    "aws:sesv2/emailIdentity:EmailIdentity",
    "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes",
    "aws:wafv2/ipSet:IpSet",
    "aws:wafv2/webAcl:WebAcl",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    # Kubernetes objects are re-applied from config; no app or controller keeps a volume.
    "kubernetes:apps/v1:Deployment",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    # The database bootstrap and migration Jobs change the database, which is stateful; the Job objects
    # themselves hold nothing (the bootstrap is idempotent, a migration runs once per release).
    "kubernetes:batch/v1:Job",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
    "kubernetes:external-secrets.io/v1:ExternalSecret",
    "kubernetes:external-secrets.io/v1:SecretStore",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:policy/v1:PodDisruptionBudget",
}


def _classified_types(recording: Recording) -> set[str]:
    """The types to classify: custom resources, less the engine's providers."""
    return {r.type for r in recording.resources if r.custom and not r.type.startswith("pulumi:providers:")}


@pytest.fixture(scope="module", params=STACKS)
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def test_every_declared_type_is_classified(recording: Recording) -> None:
    unclassified = sorted(_classified_types(recording) - STATEFUL.keys() - STATELESS)
    assert unclassified == [], f"add each to STATEFUL (with its guard) or STATELESS in {__file__}"


def test_classes_do_not_overlap() -> None:
    assert not STATEFUL.keys() & STATELESS


def test_prod_declares_every_kind_of_stateful_resource(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    # Otherwise a guard above would go untested.
    assert STATEFUL.keys() <= _classified_types(shipped_recordings("prod"))


@pytest.mark.parametrize("type_", sorted(STATEFUL))
def test_stateful_resources_are_guarded_in_prod(
    type_: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    prod = shipped_recordings("prod")
    guard = STATEFUL[type_]
    unprotected = [r.name for r in prod.of_type(type_) if not r.protect]
    unguarded = [r.name for r in prod.of_type(type_) if not guard.check(r, prod)]
    assert unprotected == [], "protect is on for every stateful resource in prod"
    assert unguarded == [], f"the service's own guard: {guard.why}"


# --- README: Environments: what differs ---------------------------------------------------------------------

PROTECT = "protect"
_SECTION = "## Environments: what differs"


@dataclass(frozen=True)
class Row:
    guard: str
    type_: str | None  # None: the row is about `protect` on every stateful type
    input_name: str
    staging: str
    prod: str


def _readme_rows() -> list[Row]:
    text = (ROOT / "README.md").read_text()
    assert _SECTION in text
    section = text.split(_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        type_, input_name = (None, PROTECT) if names == [PROTECT] else names
        rows.append(Row(cells[0], type_, input_name, cells[2].strip("`"), cells[3].strip("`")))
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return "set"  # a name (a final snapshot's): that it is there is the guard, not what it says
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _recorded(recording: Recording, type_: str | None, input_name: str) -> str:
    """What the README cell for this guard must say: its values, or "—" when no resource sets it."""
    if type_ is None:
        values = {_shown(r.protect) for r in recording.resources if r.type in STATEFUL}
    else:
        values = {_shown(r.inputs[input_name]) for r in recording.of_type(type_) if input_name in r.inputs}
    return ", ".join(sorted(values)) or "—"


def test_readme_environment_table_matches_the_recordings(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    rows = _readme_rows()
    assert rows, "README's environment table has rows"
    for row in rows:
        for stack, shown in (("staging", row.staging), ("prod", row.prod)):
            recorded = _recorded(shipped_recordings(stack), row.type_, row.input_name)
            assert shown == recorded, f"README says {row.guard} is {shown} in {stack}; it is {recorded}"


def test_every_guard_that_differs_between_environments_is_in_the_readme(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    listed = {(row.type_, row.input_name) for row in _readme_rows()}
    guards = [(None, PROTECT)] + [(type_, name) for type_, guard in STATEFUL.items() for name in guard.inputs]
    differing = {
        (type_, name)
        for type_, name in guards
        if _recorded(shipped_recordings("staging"), type_, name)
        != _recorded(shipped_recordings("prod"), type_, name)
    }
    assert differing, "the environments differ in some guard (protect at least)"
    assert sorted(differing - listed, key=str) == []


@pytest.mark.parametrize(
    "type_",
    ["aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:elasticache/replicationGroup:ReplicationGroup"],
)
def test_guards_that_are_on_in_both_environments(type_: str, recording: Recording) -> None:
    # README: buckets never force-destroyed, KMS deletion windows, final cache snapshots, staging included.
    resources = recording.of_type(type_)
    assert resources and all(STATEFUL[type_].check(r, recording) for r in resources)
