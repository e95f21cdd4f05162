"""What the data tier's test files share: resource types, the stacks, readers of a recording or a stack file.

The data tier (keys, secrets, RDS, ElastiCache, AWS Backup) runs per stack under first-preview semantics;
assertions are on recorded inputs, property dependencies and resource options. Config rules that need no
program run are checked through `load_stack_config`.
"""

from __future__ import annotations

from typing import Any

import pytest

from paved.presets import deep_merge
from paved.recorder import RecordedResource, Recording
from tests.stack_config import problems_of, shipped

ACCOUNT = "123456789012"
DR_REGION = "eu-central-1"
DR_PROVIDER = "pulumi:providers:aws::dr"

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_PARAMETER_GROUP = "aws:elasticache/parameterGroup:ParameterGroup"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
AWS_PROVIDER = "pulumi:providers:aws"

STACKS = ["prod", "staging"]


def recording_of(request: pytest.FixtureRequest, stack: str) -> Recording:
    """A stack's recording through its fixture (conftest.py `prod`, `staging`), for parametrized tests."""
    return request.getfixturevalue(stack)


def key_urn(recording: Recording, purpose: str) -> str:
    return recording.one(KEY, purpose).urn


def primary_instance(recording: Recording) -> RecordedResource:
    return recording.one(INSTANCE, "database")


def parameters_of(resource: RecordedResource) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in resource.inputs["parameters"]}


def rules_of(recording: Recording, type_: str, group: str) -> list[RecordedResource]:
    """The security group rules of `type_` that belong to the group named `group`."""
    urn = recording.one(SECURITY_GROUP, group).urn
    return [r for r in recording.of_type(type_) if r.property_dependencies.get("securityGroupId") == [urn]]


# --- config helpers (no program run), in the manner of tests/test_config.py -----------------------------


def changed(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    return deep_merge(shipped(stack), changes)


def problem_paths(raw: dict[str, Any], stack: str) -> set[str]:
    return {problem.path for problem in problems_of(raw, stack)}


def alarm_names(recording: Recording, prefix: str) -> set[str]:
    return {a.name.removeprefix(prefix) for a in recording.of_type(ALARM) if a.name.startswith(prefix)}
