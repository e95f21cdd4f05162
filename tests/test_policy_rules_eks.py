"""Tests for the EKS policies: clusters, managed node groups and the launch templates nodes start from.

Same harness as tests/test_policy_rules.py: every policy runs through the real pulumi_policy objects with
props wrapped by `unknown_checking_proxy`, numbers as floats, unknowns as the engine's sentinels. The
fixtures are shaped like what components/cluster.py sends in a first preview (ids and ARNs unknown).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paved_policies.pack import RULES
from paved_policies.rule import ResourceContext, ResourceRule
from paved_policies.rules import eks
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from paved.config import EKS_VERSIONS
from paved.recorder import Recording
from tests.test_policy_rules import (
    EKS_POLICIES,
    POLICIES,
    _urn,
    assert_outcome,
    perturbed,
    props_strategy,
    run_resource,
    values,
)
from tests.test_policy_rules_data import but
from tests.test_policy_rules_edge import _judge, _linked, run_with

UNKNOWN = UNKNOWN_STRING_VALUE

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
QUEUE = "aws:sqs/queue:Queue"

ENDPOINT = "eks-endpoint-not-public"
LOGGING = "eks-control-plane-logging"
SECRETS = "eks-secrets-encryption"
VERSION = "eks-supported-version"
SSH = "eks-node-group-no-open-ssh"
IMDS = "eks-node-imdsv2-required"
AUTH = "eks-access-entries-auth"

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
TAGS = {"environment": "prod", "team": "platform"}

# ---------------------------------------------------------------------------------------------
# Fixtures, shaped as components/cluster.py declares them (prod: private endpoint; staging: public to one
# office range).

PRIVATE_VPC: dict[str, Any] = {
    "endpointPublicAccess": False,
    "endpointPrivateAccess": True,
    "subnetIds": UNKNOWN,
}
OFFICE_VPC: dict[str, Any] = {
    "endpointPublicAccess": True,
    "endpointPrivateAccess": True,
    "subnetIds": UNKNOWN,
    "publicAccessCidrs": ["203.0.113.0/24"],
}
ENCRYPTION: dict[str, Any] = {"resources": ["secrets"], "provider": {"keyArn": UNKNOWN}}
CLUSTER_PROPS: dict[str, Any] = {
    "name": "paved-prod",
    "version": "1.36",
    "roleArn": UNKNOWN,
    "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
    "vpcConfig": PRIVATE_VPC,
    "enabledClusterLogTypes": LOG_TYPES,
    "upgradePolicy": {"supportType": "STANDARD"},
    "deletionProtection": True,
    "encryptionConfig": ENCRYPTION,
    "bootstrapSelfManagedAddons": False,
    "tags": TAGS,
}
STAGING_CLUSTER = but(CLUSTER_PROPS, vpcConfig=OFFICE_VPC, deletionProtection=False)
NODES: dict[str, Any] = {
    "clusterName": "paved-prod",
    "nodeRoleArn": UNKNOWN,
    "subnetIds": UNKNOWN,
    "amiType": "AL2023_x86_64_STANDARD",
    "capacityType": "ON_DEMAND",
    "instanceTypes": ["m7i.large", "m6i.large"],
    "launchTemplate": {"id": UNKNOWN, "version": UNKNOWN},
    "scalingConfig": {"minSize": 3.0, "maxSize": 12.0, "desiredSize": 3.0},
    "updateConfig": {"maxUnavailablePercentage": 33.0},
    "tags": TAGS,
}
# A node group the EKS way without a launch template: disk size and SSH on the group.
BARE_NODES = but(NODES, launchTemplate=..., diskSize=50.0)
TEMPLATE: dict[str, Any] = {
    "description": "EKS managed nodes: IMDSv2 only, encrypted gp3 root volume, no SSH",
    "metadataOptions": {"httpEndpoint": "enabled", "httpPutResponseHopLimit": 2.0, "httpTokens": "required"},
    "vpcSecurityGroupIds": [UNKNOWN, UNKNOWN],
    "updateDefaultVersion": True,
    "blockDeviceMappings": [
        {
            "deviceName": "/dev/xvda",
            "ebs": {"volumeType": "gp3", "volumeSize": 50.0, "encrypted": "true", "kmsKeyId": UNKNOWN},
        }
    ],
    "tags": TAGS,
}


def cluster(**changes: Any) -> dict[str, Any]:
    return but(CLUSTER_PROPS, **changes)


def public(*cidrs: Any) -> dict[str, Any]:
    """A cluster whose public endpoint admits `cidrs`."""
    return cluster(vpcConfig=but(OFFICE_VPC, publicAccessCidrs=list(cidrs)))


def ssh(**remote: Any) -> dict[str, Any]:
    return but(BARE_NODES, remoteAccess=remote)


def metadata(**options: Any) -> dict[str, Any]:
    return but(TEMPLATE, metadataOptions=options)


# (id, policy, type, props, expected, message fragment)
CASES: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    # eks-endpoint-not-public
    ("endpoint-private", ENDPOINT, CLUSTER, CLUSTER_PROPS, "ok", ""),
    ("endpoint-office-range", ENDPOINT, CLUSTER, STAGING_CLUSTER, "ok", ""),
    ("endpoint-v6-range", ENDPOINT, CLUSTER, public("2001:db8::/32", "198.51.100.7/32"), "ok", ""),
    (
        "endpoint-unset",
        ENDPOINT,
        CLUSTER,
        cluster(vpcConfig={"subnetIds": UNKNOWN}),
        "violation",
        "0.0.0.0/0",
    ),
    (
        "endpoint-no-vpc-config",
        ENDPOINT,
        CLUSTER,
        cluster(vpcConfig=...),
        "violation",
        "no publicAccessCidrs",
    ),
    ("endpoint-public-no-cidrs", ENDPOINT, CLUSTER, public(), "violation", "no publicAccessCidrs"),
    ("endpoint-blank-cidrs", ENDPOINT, CLUSTER, public("", " "), "violation", "no publicAccessCidrs"),
    (
        "endpoint-world",
        ENDPOINT,
        CLUSTER,
        public("10.0.0.0/8", "0.0.0.0/0"),
        "violation",
        ": publicAccessCidrs 0.0.0.0/0",
    ),
    ("endpoint-world-v6", ENDPOINT, CLUSTER, public("203.0.113.0/24", "::/0"), "violation", "::/0"),
    ("endpoint-non-canonical", ENDPOINT, CLUSTER, public("10.1.2.3/0"), "violation", "10.1.2.3/0"),
    (
        "endpoint-halves",
        ENDPOINT,
        CLUSTER,
        public("0.0.0.0/1", "128.0.0.0/1"),
        "violation",
        "0.0.0.0/1, 128.0.0.0/1",
    ),
    # A known 0.0.0.0/0 settles it whatever the unknown CIDR turns out to be.
    ("endpoint-world-and-unknown", ENDPOINT, CLUSTER, public(UNKNOWN, "0.0.0.0/0"), "violation", "0.0.0.0/0"),
    # eks-control-plane-logging
    ("logs-all", LOGGING, CLUSTER, CLUSTER_PROPS, "ok", ""),
    (
        "logs-all-and-unknown",
        LOGGING,
        CLUSTER,
        cluster(enabledClusterLogTypes=[*LOG_TYPES, UNKNOWN]),
        "ok",
        "",
    ),
    (
        "logs-unset",
        LOGGING,
        CLUSTER,
        cluster(enabledClusterLogTypes=...),
        "violation",
        "api, audit, authenticator",
    ),
    (
        "logs-api-audit",
        LOGGING,
        CLUSTER,
        cluster(enabledClusterLogTypes=["api", "audit"]),
        "violation",
        "authenticator, controllerManager, scheduler",
    ),
    # Case-sensitive in the EKS API.
    (
        "logs-wrong-case",
        LOGGING,
        CLUSTER,
        cluster(enabledClusterLogTypes=[*LOG_TYPES[:3], "controllermanager", "scheduler"]),
        "violation",
        "controllerManager",
    ),
    ("logs-string", LOGGING, CLUSTER, cluster(enabledClusterLogTypes="api,audit"), "violation", "api"),
    # eks-secrets-encryption
    ("secrets-key-unknown", SECRETS, CLUSTER, CLUSTER_PROPS, "ok", ""),
    (
        "secrets-list-shape",
        SECRETS,
        CLUSTER,
        cluster(
            encryptionConfig=[
                {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:eu-west-1:111122223333:key/k"}}
            ]
        ),
        "ok",
        "",
    ),
    (
        "secrets-provider-unknown",
        SECRETS,
        CLUSTER,
        cluster(encryptionConfig={"resources": ["secrets"], "provider": UNKNOWN_OBJECT_VALUE}),
        "ok",
        "",
    ),
    ("secrets-unset", SECRETS, CLUSTER, cluster(encryptionConfig=...), "violation", "encryptionConfig"),
    (
        "secrets-no-key",
        SECRETS,
        CLUSTER,
        cluster(encryptionConfig={"resources": ["secrets"], "provider": {}}),
        "violation",
        "keyArn",
    ),
    (
        "secrets-blank-key",
        SECRETS,
        CLUSTER,
        cluster(encryptionConfig={"resources": ["secrets"], "provider": {"keyArn": " "}}),
        "violation",
        "keyArn",
    ),
    (
        "secrets-other-resource",
        SECRETS,
        CLUSTER,
        cluster(encryptionConfig={"resources": ["configmaps"], "provider": {"keyArn": UNKNOWN}}),
        "violation",
        "['secrets']",
    ),
    # eks-supported-version (default config)
    ("version-136", VERSION, CLUSTER, CLUSTER_PROPS, "ok", ""),
    ("version-134-padded", VERSION, CLUSTER, cluster(version=" 1.34 "), "ok", ""),
    ("version-133", VERSION, CLUSTER, cluster(version="1.33"), "violation", "Kubernetes 1.33"),
    ("version-patch", VERSION, CLUSTER, cluster(version="1.36.2"), "violation", "1.36.2"),
    ("version-unset", VERSION, CLUSTER, cluster(version=...), "violation", "sets no version"),
    ("version-float", VERSION, CLUSTER, cluster(version=1.36), "violation", "sets no version"),
    # eks-node-group-no-open-ssh
    ("ssh-none", SSH, NODE_GROUP, NODES, "ok", ""),
    ("ssh-from-bastion", SSH, NODE_GROUP, ssh(ec2SshKey="ops", sourceSecurityGroupIds=[UNKNOWN]), "ok", ""),
    (
        "ssh-groups-unknown",
        SSH,
        NODE_GROUP,
        ssh(ec2SshKey=UNKNOWN, sourceSecurityGroupIds=UNKNOWN_ARRAY_VALUE),
        "ok",
        "",
    ),
    ("ssh-no-key", SSH, NODE_GROUP, ssh(sourceSecurityGroupIds=[]), "ok", ""),
    ("ssh-open", SSH, NODE_GROUP, ssh(ec2SshKey="ops"), "violation", "port 22"),
    # The key pair's name is another resource's output: still a key.
    (
        "ssh-open-key-unknown",
        SSH,
        NODE_GROUP,
        ssh(ec2SshKey=UNKNOWN, sourceSecurityGroupIds=[]),
        "violation",
        "0.0.0.0/0",
    ),
    (
        "ssh-open-blank-groups",
        SSH,
        NODE_GROUP,
        ssh(ec2SshKey="ops", sourceSecurityGroupIds=["", " "]),
        "violation",
        "sourceSecurityGroupIds",
    ),
    # eks-node-imdsv2-required
    ("imds-template", IMDS, LAUNCH_TEMPLATE, TEMPLATE, "ok", ""),
    ("imds-endpoint-off", IMDS, LAUNCH_TEMPLATE, metadata(httpEndpoint="disabled"), "ok", ""),
    (
        "imds-required-endpoint-unknown",
        IMDS,
        LAUNCH_TEMPLATE,
        metadata(httpTokens="required", httpEndpoint=UNKNOWN),
        "ok",
        "",
    ),
    ("imds-node-group-template", IMDS, NODE_GROUP, NODES, "ok", ""),
    (
        "imds-node-group-template-name",
        IMDS,
        NODE_GROUP,
        but(NODES, launchTemplate={"name": "nodes", "version": "$Default"}),
        "ok",
        "",
    ),
    (
        "imds-node-group-template-unknown",
        IMDS,
        NODE_GROUP,
        but(NODES, launchTemplate=UNKNOWN_OBJECT_VALUE),
        "ok",
        "",
    ),
    (
        "imds-optional",
        IMDS,
        LAUNCH_TEMPLATE,
        metadata(httpEndpoint="enabled", httpTokens="optional"),
        "violation",
        "httpTokens",
    ),
    (
        "imds-unset",
        IMDS,
        LAUNCH_TEMPLATE,
        but(TEMPLATE, metadataOptions=...),
        "violation",
        "depends on the AMI",
    ),
    ("imds-node-group-without-template", IMDS, NODE_GROUP, BARE_NODES, "violation", "no launchTemplate"),
    (
        "imds-node-group-empty-template",
        IMDS,
        NODE_GROUP,
        but(NODES, launchTemplate={"version": "1"}),
        "violation",
        "no launchTemplate",
    ),
    # eks-access-entries-auth
    ("auth-api", AUTH, CLUSTER, CLUSTER_PROPS, "ok", ""),
    (
        "auth-both",
        AUTH,
        CLUSTER,
        cluster(accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}),
        "ok",
        "",
    ),
    ("auth-unset", AUTH, CLUSTER, cluster(accessConfig=...), "violation", "unset, so CONFIG_MAP"),
    (
        "auth-config-map",
        AUTH,
        CLUSTER,
        cluster(accessConfig={"authenticationMode": "CONFIG_MAP"}),
        "violation",
        "authenticationMode CONFIG_MAP",
    ),
]


@pytest.mark.parametrize(
    ("policy", "rtype", "props", "expected", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_resource_policy(
    policy: str, rtype: str, props: dict[str, Any], expected: str, fragment: str
) -> None:
    assert_outcome(run_resource(policy, rtype, props), expected, fragment)


@pytest.mark.parametrize(
    ("policy", "rtype", "props"),
    [
        (ENDPOINT, CLUSTER, cluster(vpcConfig=UNKNOWN_OBJECT_VALUE)),
        (ENDPOINT, CLUSTER, cluster(vpcConfig=but(OFFICE_VPC, endpointPublicAccess=UNKNOWN_BOOLEAN_VALUE))),
        (ENDPOINT, CLUSTER, cluster(vpcConfig=but(OFFICE_VPC, publicAccessCidrs=UNKNOWN_ARRAY_VALUE))),
        # The unknown CIDR (say a NAT gateway's address) may be anything, 0.0.0.0/0 included.
        (ENDPOINT, CLUSTER, public("203.0.113.0/24", UNKNOWN)),
        (ENDPOINT, CLUSTER, public(UNKNOWN)),
        (LOGGING, CLUSTER, cluster(enabledClusterLogTypes=UNKNOWN_ARRAY_VALUE)),
        (LOGGING, CLUSTER, cluster(enabledClusterLogTypes=["api", "audit", UNKNOWN])),
        (SECRETS, CLUSTER, cluster(encryptionConfig=UNKNOWN_OBJECT_VALUE)),
        (
            SECRETS,
            CLUSTER,
            cluster(encryptionConfig={"resources": UNKNOWN_ARRAY_VALUE, "provider": {"keyArn": "k"}}),
        ),
        (SECRETS, CLUSTER, cluster(encryptionConfig=[UNKNOWN_OBJECT_VALUE])),
        (VERSION, CLUSTER, cluster(version=UNKNOWN)),
        (SSH, NODE_GROUP, but(NODES, remoteAccess=UNKNOWN_OBJECT_VALUE)),
        (IMDS, LAUNCH_TEMPLATE, but(TEMPLATE, metadataOptions=UNKNOWN_OBJECT_VALUE)),
        (IMDS, LAUNCH_TEMPLATE, metadata(httpEndpoint="enabled", httpTokens=UNKNOWN)),
        (IMDS, LAUNCH_TEMPLATE, metadata(httpEndpoint=UNKNOWN, httpTokens="optional")),
        (AUTH, CLUSTER, cluster(accessConfig=UNKNOWN_OBJECT_VALUE)),
        (AUTH, CLUSTER, cluster(accessConfig={"authenticationMode": UNKNOWN})),
    ],
)
def test_value_checks_defer_unknowns_to_the_sdk(policy: str, rtype: str, props: dict[str, Any]) -> None:
    # The SDK reports UnknownValueError as an advisory "can't run policy during preview".
    with pytest.raises(UnknownValueError):
        run_resource(policy, rtype, props)


@pytest.mark.parametrize(
    ("policy", "rtype"),
    [
        (ENDPOINT, NODE_GROUP),
        (LOGGING, LAUNCH_TEMPLATE),
        (SECRETS, QUEUE),
        (VERSION, NODE_GROUP),
        (SSH, CLUSTER),
        # EC2 instances are not EKS nodes' launch path; they are not judged here (see eks.py).
        (IMDS, INSTANCE),
        (IMDS, CLUSTER),
        (AUTH, NODE_GROUP),
    ],
)
def test_resource_policies_ignore_other_types(policy: str, rtype: str) -> None:
    outcome = run_resource(policy, rtype, {"metadataOptions": {"httpTokens": "optional"}})
    assert outcome.violations == [] and outcome.not_applicable is None


# ---------------------------------------------------------------------------------------------
# eks-supported-version: the configurable list.


def test_the_default_versions_are_paveds_own() -> None:
    assert eks.STANDARD_SUPPORT_VERSIONS == EKS_VERSIONS
    policy = POLICIES[VERSION]
    assert policy.config_schema is not None
    assert policy.config_schema.properties["supportedVersions"]["default"] == list(EKS_VERSIONS)


def test_supported_versions_come_from_the_pack_config() -> None:
    newer = {"supportedVersions": ["1.35", "1.36", "1.37"]}
    assert run_with(VERSION, CLUSTER, cluster(version="1.37"), config=newer).status == "ok"
    assert run_resource(VERSION, CLUSTER, cluster(version="1.37")).status == "violation"
    outcome = run_with(VERSION, CLUSTER, cluster(version="1.34"), config=newer)
    [(message, _)] = outcome.violations
    assert "1.35, 1.36, 1.37" in message
    # Junk in the list (the CLI validates the schema, direct callers may not) is skipped, not a crash.
    junk = {"supportedVersions": ["1.36", 3, None, " ", "latest"]}
    assert run_with(VERSION, CLUSTER, CLUSTER_PROPS, config=junk).status == "ok"
    assert run_with(VERSION, CLUSTER, CLUSTER_PROPS, config={"supportedVersions": []}).status == "n/a"


def test_supported_versions_config_schema() -> None:
    schema = {"type": "object", "properties": dict(RULES[VERSION].config_schema)}
    jsonschema.validate({"supportedVersions": ["1.35", "1.36"]}, schema)
    for bad in (["1.36", "1.36"], ["1.36.2"], ["v1.36"], "1.36", [1.36]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"supportedVersions": bad}, schema)


def test_rules_are_callable_without_the_sdk() -> None:
    rule = RULES[VERSION]
    assert isinstance(rule, ResourceRule)
    ctx = ResourceContext(CLUSTER, _urn(CLUSTER, "c"), "c", config={"supportedVersions": ["1.36"]})
    assert rule({"version": "1.36"}, ctx).status.value == "compliant"
    assert "1.35" in rule({"version": "1.35"}, ctx).message


# ---------------------------------------------------------------------------------------------
# Metadata.


def test_every_eks_policy_has_compliant_and_non_compliant_fixtures() -> None:
    seen: dict[str, set[str]] = {}
    for case in CASES:
        seen.setdefault(case[1], set()).add(case[4])
    assert set(seen) == EKS_POLICIES == {rule.name for rule in eks.RULES}
    for name, statuses in seen.items():
        assert {"ok", "violation"} <= statuses, name


def test_eks_policies_name_only_verified_equivalents() -> None:
    ids = {rule.name: (rule.checkov, rule.cdk_nag) for rule in eks.RULES}
    # CKV_AWS_39 and AwsSolutions-EKS1 fail any public endpoint; this policy passes one limited to a range.
    assert ids[ENDPOINT] == (("CKV_AWS_38",), ())
    assert ids[LOGGING] == (("CKV_AWS_37",), ("AwsSolutions-EKS2",))
    assert ids[IMDS] == (("CKV_AWS_79",), ())


# ---------------------------------------------------------------------------------------------
# Robustness: random, partial, None, wrongly typed and unknown props never crash an EKS policy.

EKS_KEYS = [
    "vpcConfig",
    "endpointPublicAccess",
    "endpointPrivateAccess",
    "publicAccessCidrs",
    "enabledClusterLogTypes",
    "encryptionConfig",
    "resources",
    "provider",
    "keyArn",
    "version",
    "remoteAccess",
    "ec2SshKey",
    "sourceSecurityGroupIds",
    "launchTemplate",
    "id",
    "name",
    "metadataOptions",
    "httpTokens",
    "httpEndpoint",
    "accessConfig",
    "authenticationMode",
]
INTERESTING = [
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/8",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "10.1.2.3/0",
    "not-a-cidr",
    *LOG_TYPES,
    "secrets",
    "1.36",
    "1.33",
    " 1.35 ",
    "required",
    "optional",
    "disabled",
    "enabled",
    "API",
    "CONFIG_MAP",
    "API_AND_CONFIG_MAP",
    "",
    " ",
    UNKNOWN,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_OBJECT_VALUE,
]
eks_values = st.one_of(
    values, st.sampled_from(INTERESTING), st.lists(st.sampled_from(INTERESTING), max_size=4)
)
eks_props = st.one_of(props_strategy, st.dictionaries(st.sampled_from(EKS_KEYS), eks_values, max_size=8))

FIXTURES: dict[str, list[dict[str, Any]]] = {}
for _case in CASES:
    FIXTURES.setdefault(_case[2], []).append(_case[3])


@functools.cache
def _props_for(rtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(eks_props, *map(perturbed, FIXTURES[rtype][:8]))


EKS_TARGETS = [(rule.name, rule.resource_types) for rule in eks.RULES if isinstance(rule, ResourceRule)]


@settings(max_examples=settings().max_examples * 3)
@given(target=st.sampled_from(EKS_TARGETS), data=st.data())
def test_eks_policies_never_crash(target: tuple[str, tuple[str, ...]], data: st.DataObject) -> None:
    policy, rtypes = target
    rtype = data.draw(st.sampled_from(rtypes), label="type")
    props = data.draw(_props_for(rtype), label="props")
    config = data.draw(st.none() | st.fixed_dictionaries({"supportedVersions": eks_values}), label="config")
    with contextlib.suppress(UnknownValueError):
        outcome = run_with(policy, rtype, props, config=config)
        assert outcome.status in ("ok", "violation", "n/a")
        assert len(outcome.violations) <= 1


# ---------------------------------------------------------------------------------------------
# Our own stacks, as recorded in a first preview: no EKS finding, and nothing left to preview unknowns.


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_our_stacks_pass_the_eks_policies(stack: str, shipped_recordings: Callable[[str], Recording]) -> None:
    resources = _linked(shipped_recordings(stack))
    judged_types = {t for rule in eks.RULES for t in rule.resource_types}
    assert {r.resource_type for r in resources} >= judged_types  # the stack has every judged type
    for rule in eks.RULES:
        found, met_unknown = _judge(rule, resources)
        assert (found, met_unknown) == (set(), False), rule.name
