"""Key policies and resource policies grant each AWS service that paved wires up what AWS documents it needs.

For every (writer, resource) pair in a recorded stack, e.g. a log group encrypted with a key, an alarm
publishing to an encrypted topic or a WAF logging to a log group, the test finds the key policy or resource
policy paved declares for that resource and checks the documented grant. The facts, each with its doc:

- CloudWatch Logs encrypts a log group through `logs.<region>.amazonaws.com`, which needs kms:Encrypt*,
  Decrypt*, ReEncrypt*, GenerateDataKey* and Describe* under a `kms:EncryptionContext:aws:logs:arn`
  condition that admits the group: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
- CloudWatch alarms publish to an encrypted SNS topic as `cloudwatch.amazonaws.com`, which needs kms:Decrypt
  and kms:GenerateDataKey* on the topic's key:
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
- Vended logs (WAF, CloudFront standard logging v2, ElastiCache) are written by `delivery.logs.amazonaws.com`,
  which needs logs:CreateLogStream and logs:PutLogEvents on the group through a resource policy, declared
  before the delivery starts: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html
  and WAF log groups are named `aws-waf-logs-*`: https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
- EC2 Auto Scaling launches the EKS nodes with encrypted volumes as its service-linked role, which needs
  kms:Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey and a CreateGrant for AWS resources:
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
- RDS, Performance Insights, ElastiCache, AWS Backup and Secrets Manager use a customer managed key through
  grants or the caller's IAM permissions, which the key policy must delegate to the account:
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pytest

from paved.recorder import RecordedResource, Recording
from paved.values import is_unknown

STACKS = ["prod", "staging"]
KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


@dataclass(frozen=True)
class KeyUse:
    """A service that uses the key named by `key_input` of resources of `type_`, and what it needs."""

    type_: str
    key_input: str
    principal: Callable[[Context, RecordedResource], tuple[str, str]]
    actions: frozenset[str]
    doc: str


class Context:
    """Lookups in one recording: resources by URN, provider regions and the account."""

    def __init__(self, recording: Recording):
        self.recording = recording
        self.by_urn = recording.by_urn()
        self.account = _account_of(recording)

    def region(self, resource: RecordedResource) -> str:
        return self.by_urn[resource.provider_urn].inputs["region"]

    def depended_on(self, resource: RecordedResource, input_name: str, type_: str) -> list[RecordedResource]:
        return [
            self.by_urn[urn]
            for urn in resource.property_dependencies.get(input_name, [])
            if self.by_urn[urn].type == type_
        ]

    def key_policy(self, key: RecordedResource) -> dict[str, Any] | None:
        """The key's policy document, inline or from its KeyPolicy; None while it is unknown at preview."""
        policy = key.inputs.get("policy")
        if policy is None:
            attached = [
                p
                for p in self.recording.of_type(KEY_POLICY)
                if key.urn in p.property_dependencies.get("keyId", [])
            ]
            assert len(attached) == 1, f"key {key.name} has no policy of its own"
            policy = attached[0].inputs["policy"]
        return None if is_unknown(policy) else json.loads(policy)


def _account_of(recording: Recording) -> str:
    roots = {
        statement["Principal"]["AWS"]
        for key in recording.of_type(KEY)
        if isinstance(key.inputs.get("policy"), str) and not is_unknown(key.inputs["policy"])
        for statement in json.loads(key.inputs["policy"])["Statement"]
        if statement.get("Sid") == "AccountAdministration"
    }
    assert len(roots) == 1, roots
    return roots.pop().split(":")[4]


def _listed(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(
    policy: Mapping[str, Any],
    principal: tuple[str, str],
    actions: frozenset[str],
    resource: str | None = None,
) -> list[dict[str, Any]]:
    """The Allow statements that give `principal` every one of `actions` (on `resource`, when given)."""
    kind, name = principal
    found = []
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow" or name not in _listed(
            statement.get("Principal", {}).get(kind, [])
        ):
            continue
        granted = _listed(statement["Action"])
        if not all(any(fnmatchcase(action.lower(), g.lower()) for g in granted) for action in actions):
            continue
        if resource is not None and not any(fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        found.append(statement)
    return found


def _condition_values(statement: Mapping[str, Any], operator: str, key: str) -> list[str]:
    return _listed(statement.get("Condition", {}).get(operator, {}).get(key, []))


def _log_group_arn(context: Context, group: RecordedResource) -> str:
    return f"arn:aws:logs:{context.region(group)}:{context.account}:log-group:{group.inputs['name']}"


def _logs_service(context: Context, group: RecordedResource) -> tuple[str, str]:
    return ("Service", f"logs.{context.region(group)}.amazonaws.com")


def _cloudwatch_service(_context: Context, _topic: RecordedResource) -> tuple[str, str]:
    return ("Service", "cloudwatch.amazonaws.com")


def _autoscaling_role(context: Context, _template: RecordedResource) -> tuple[str, str]:
    role = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    return ("AWS", f"arn:aws:iam::{context.account}:{role}")


def _account_root(context: Context, _user: RecordedResource) -> tuple[str, str]:
    return ("AWS", f"arn:aws:iam::{context.account}:root")


_LOGS_ACTIONS = frozenset(
    {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}
)
_ACCOUNT_DELEGATION_DOC = "key-policy-default.html#key-policy-default-allow-root-enable-iam"

KEY_USES: list[KeyUse] = [
    KeyUse(LOG_GROUP, "kmsKeyId", _logs_service, _LOGS_ACTIONS, "encrypt-log-data-kms.html"),
    KeyUse(
        "aws:sns/topic:Topic",
        "kmsMasterKeyId",
        _cloudwatch_service,
        frozenset({"kms:Decrypt", "kms:GenerateDataKey*"}),
        "sns-key-management.html#compatibility-with-aws-services",
    ),
    KeyUse(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "blockDeviceMappings",
        _autoscaling_role,
        frozenset(
            {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}
        ),
        "key-policy-requirements-EBS-encryption.html",
    ),
    KeyUse(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "blockDeviceMappings",
        _autoscaling_role,
        frozenset({"kms:CreateGrant"}),
        "key-policy-requirements-EBS-encryption.html",
    ),
    *(
        KeyUse(type_, key_input, _account_root, frozenset({"kms:*"}), _ACCOUNT_DELEGATION_DOC)
        for type_, key_input in [
            ("aws:rds/instance:Instance", "kmsKeyId"),
            ("aws:rds/instance:Instance", "performanceInsightsKmsKeyId"),
            ("aws:rds/instance:Instance", "masterUserSecretKmsKeyId"),
            ("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "kmsKeyId"),
            ("aws:elasticache/replicationGroup:ReplicationGroup", "kmsKeyId"),
            ("aws:backup/vault:Vault", "kmsKeyArn"),
            ("aws:secretsmanager/secret:Secret", "kmsKeyId"),
            ("aws:secretsmanager/secret:Secret", "replicas"),
        ]
    ),
]


def key_use_problems(recording: Recording) -> tuple[list[str], int]:
    """Problems, and how many (user, key) pairs had a policy known at preview to check."""
    context = Context(recording)
    problems, checked = [], 0
    for use in KEY_USES:
        for user in recording.of_type(use.type_):
            principal = use.principal(context, user)
            for key in context.depended_on(user, use.key_input, KEY):
                policy = context.key_policy(key)
                if policy is None:
                    continue
                checked += 1
                statements = allows(policy, principal, use.actions)
                if not statements:
                    problems.append(
                        f"{user.type} {user.name}: key {key.name} does not allow {principal} "
                        f"{sorted(use.actions)} ({use.doc})"
                    )
                elif use.type_ == LOG_GROUP:
                    problems.extend(_log_group_condition_problems(context, user, key, statements))
    return problems, checked


def _log_group_condition_problems(
    context: Context, group: RecordedResource, key: RecordedResource, statements: list[dict[str, Any]]
) -> Iterator[str]:
    arn = _log_group_arn(context, group)
    for statement in statements:
        patterns = _condition_values(statement, "ArnLike", "kms:EncryptionContext:aws:logs:arn")
        if not any(fnmatchcase(arn, pattern) for pattern in patterns):
            yield f"log group {group.name}: key {key.name}'s logs statement admits {patterns}, not {arn}"


def _delivered_log_groups(context: Context) -> Iterator[tuple[RecordedResource, RecordedResource]]:
    """(writer that starts a vended-log delivery, log group it delivers to)."""
    recording = context.recording
    for logging in recording.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"):
        for group in context.depended_on(logging, "logDestinationConfigs", LOG_GROUP):
            yield logging, group
    for delivery in recording.of_type("aws:cloudwatch/logDelivery:LogDelivery"):
        for destination in context.depended_on(
            delivery, "deliveryDestinationArn", "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
        ):
            for group in context.depended_on(destination, "deliveryDestinationConfiguration", LOG_GROUP):
                yield delivery, group
    for cache in recording.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        for group in context.depended_on(cache, "logDeliveryConfigurations", LOG_GROUP):
            yield cache, group


def log_delivery_problems(recording: Recording) -> tuple[list[str], int]:
    context = Context(recording)
    problems, checked = [], 0
    for writer, group in _delivered_log_groups(context):
        checked += 1
        streams = _log_group_arn(context, group) + ":log-stream:example"
        granting = [
            policy
            for policy in recording.of_type(LOG_RESOURCE_POLICY)
            if context.region(policy) == context.region(group)
            and allows(
                json.loads(policy.inputs["policyDocument"]),
                ("Service", LOG_DELIVERY_SERVICE),
                frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}),
                streams,
            )
        ]
        if not granting:
            problems.append(
                f"{writer.type} {writer.name}: no resource policy lets {LOG_DELIVERY_SERVICE} write"
            )
        elif not any(policy.urn in writer.dependencies for policy in granting):
            problems.append(
                f"{writer.type} {writer.name} does not wait for the resource policy of {group.name}"
            )
        if writer.type.startswith("aws:wafv2/") and not group.inputs["name"].startswith("aws-waf-logs-"):
            problems.append(f"WAF log group {group.inputs['name']} does not start with aws-waf-logs-")
    return problems, checked


@pytest.mark.parametrize("stack", STACKS)
def test_every_key_policy_allows_the_services_that_use_the_key(
    shipped_recordings: Callable[[str], Recording], stack: str
):
    problems, checked = key_use_problems(shipped_recordings(stack))
    assert problems == []
    assert checked >= 10  # log groups, topics, node volumes and the data tier were all found


@pytest.mark.parametrize("stack", STACKS)
def test_every_vended_log_delivery_has_its_resource_policy_first(
    shipped_recordings: Callable[[str], Recording], stack: str
):
    problems, checked = log_delivery_problems(shipped_recordings(stack))
    assert problems == []
    assert checked >= 4  # two WAFs, the CloudFront access logs and the cache's two log groups


@pytest.mark.parametrize("stack", STACKS)
def test_log_delivery_policies_fit_the_account_quota(
    shipped_recordings: Callable[[str], Recording], stack: str
):
    # 10 resource policies per region per account, 5120 characters each:
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
    recording = shipped_recordings(stack)
    context = Context(recording)
    policies = recording.of_type(LOG_RESOURCE_POLICY)
    per_region: dict[str, int] = {}
    for policy in policies:
        per_region[context.region(policy)] = per_region.get(context.region(policy), 0) + 1
        assert len(policy.inputs["policyDocument"]) <= 5120
    # A stack leaves room for a second stack and other tools in the same account.
    assert max(per_region.values()) <= 3


def _without_statement(recording: Recording, type_: str, name: str, sid: str) -> Recording:
    """A copy of `recording` whose named resource's policy lacks the statement `sid`."""
    resources = []
    for resource in recording.resources:
        if resource.type == type_ and resource.name == name:
            field = "policy" if type_ == KEY else "policyDocument"
            document = json.loads(resource.inputs[field])
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
            resource = RecordedResource(
                **{**vars(resource), "inputs": {**resource.inputs, field: json.dumps(document)}}
            )
        resources.append(resource)
    return Recording(
        project=recording.project, stack=recording.stack, resources=resources, logs=recording.logs
    )


@pytest.mark.parametrize(
    ("type_", "name", "sid"),
    [
        (KEY, "logs", "ServiceUse"),
        (KEY, "logs-global", "ServiceUse"),
        (KEY, "alerts", "ServiceUse"),
        (KEY, "cluster-volumes", "AutoScalingAttachVolumes"),
        (KEY, "data", "AccountAdministration"),
        (KEY, "secrets-dr", "AccountAdministration"),
    ],
)
def test_a_key_policy_without_the_service_grant_is_caught(
    shipped_recordings: Callable[[str], Recording], type_: str, name: str, sid: str
):
    problems, _ = key_use_problems(_without_statement(shipped_recordings("prod"), type_, name, sid))
    assert problems != []


def test_a_missing_log_delivery_policy_is_caught(shipped_recordings: Callable[[str], Recording]):
    recording = _without_statement(
        shipped_recordings("prod"), LOG_RESOURCE_POLICY, "cache", "AWSLogDeliveryWrite"
    )
    problems, _ = log_delivery_problems(recording)
    assert any("cache" in problem for problem in problems)


@pytest.mark.parametrize("stack", STACKS)
def test_secret_policies_deny_only_principals_outside_the_account(
    shipped_recordings: Callable[[str], Recording], stack: str
):
    # RDS Proxy and External Secrets read the secrets with roles of this account, so a resource policy that
    # denied them would break logins and secret sync:
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
    recording = shipped_recordings(stack)
    account = Context(recording).account
    secrets = recording.of_type("aws:secretsmanager/secret:Secret")
    assert secrets
    for secret in secrets:
        denials = [s for s in json.loads(secret.inputs["policy"])["Statement"] if s["Effect"] == "Deny"]
        for statement in denials:
            assert _condition_values(statement, "StringNotEquals", "aws:PrincipalAccount") == [account], (
                secret.name
            )
