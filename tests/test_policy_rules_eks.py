"""The EKS family: clusters, managed node groups and the launch templates nodes start from.

Fixtures and the tests only this family needs; tests/test_policy_pack.py runs the tables below with every
other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels). The fixtures are shaped
like what components/cluster.py sends in a first preview (ids and ARNs unknown).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest
from paved_policies.pack import RULES
from paved_policies.rule import ResourceContext, ResourceRule
from paved_policies.rules import eks
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from components.cluster import eks_versions_in_standard_support
from tests.policy_harness import (
    POLICIES,
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    but,
    run_resource,
    run_stack,
    urn_of,
)

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
QUEUE = "aws:sqs/queue:Queue"

ENDPOINT = "eks-endpoint-not-public"
LOGGING = "eks-control-plane-logging"
SECRETS = "eks-secrets-encryption"
VERSION = "eks-supported-version"
NODE_VERSION = "eks-node-group-supported-version"
SSH = "eks-node-group-no-open-ssh"
IMDS = "eks-node-imdsv2-required"
TEMPLATE_IMDS = "ec2-launch-template-imdsv2"
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
RESOURCE_CASES: list[ResourceCase] = [
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
    ("version-135-padded", VERSION, CLUSTER, cluster(version=" 1.35 "), "ok", ""),
    ("version-134", VERSION, CLUSTER, cluster(version="1.34"), "violation", "Kubernetes 1.34"),
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


def node_group(props: dict[str, Any] = NODES, *, on: str | None = "cluster") -> Res:
    """A node group whose clusterName came from the stack's cluster `on` (None: a literal name)."""
    return Res(NODE_GROUP, "nodes", props, prop_deps={"clusterName": [on]} if on else {})


def follows_cluster() -> Res:
    """A node group whose version is its cluster's version output, as components/cluster.py declares it."""
    deps = {"clusterName": ["cluster"], "version": ["cluster"]}
    return Res(NODE_GROUP, "nodes", but(NODES, version=UNKNOWN), prop_deps=deps)


def eks_cluster(**changes: Any) -> Res:
    return Res(CLUSTER, "cluster", cluster(**changes))


# (id, policy, resources, expected, the names of the resources reported)
STACK_CASES: list[StackCase] = [
    # eks-node-group-supported-version
    ("node-version-own", NODE_VERSION, [node_group(but(NODES, version="1.36"), on=None)], "ok", []),
    ("node-version-of-cluster", NODE_VERSION, [eks_cluster(), node_group()], "ok", []),
    # paved's: version=cluster.version, unknown in a first preview.
    ("node-version-cluster-output", NODE_VERSION, [eks_cluster(), follows_cluster()], "ok", []),
    (
        "node-version-old-cluster-output",
        NODE_VERSION,
        [eks_cluster(version="1.34"), follows_cluster()],
        "violation",
        ["nodes"],
    ),
    (
        "node-version-lags-cluster",
        NODE_VERSION,
        [eks_cluster(), node_group(but(NODES, version="1.34"))],
        "violation",
        ["nodes"],
    ),
    (
        "node-version-old-cluster",
        NODE_VERSION,
        [eks_cluster(version="1.33"), node_group()],
        "violation",
        ["nodes"],
    ),
    # A literal clusterName names the stack's cluster of that name.
    (
        "node-version-cluster-by-name",
        NODE_VERSION,
        [eks_cluster(version="1.33"), node_group(on=None)],
        "violation",
        ["nodes"],
    ),
    # ...but not one of that name in another region.
    (
        "node-version-cluster-elsewhere",
        NODE_VERSION,
        [eks_cluster(version="1.33", region="us-east-1"), node_group(on=None)],
        "n/a",
        [],
    ),
    ("node-version-cluster-not-declared", NODE_VERSION, [node_group(on=None)], "n/a", []),
    # eks-supported-version fails the cluster.
    ("node-version-cluster-unpinned", NODE_VERSION, [eks_cluster(version=...), node_group()], "n/a", []),
]


# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
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
    (AUTH, CLUSTER, cluster(accessConfig=UNKNOWN_OBJECT_VALUE)),
    (AUTH, CLUSTER, cluster(accessConfig={"authenticationMode": UNKNOWN})),
]
OTHER_TYPES: list[OtherType] = [
    (ENDPOINT, NODE_GROUP),
    (LOGGING, LAUNCH_TEMPLATE),
    (SECRETS, QUEUE),
    (VERSION, NODE_GROUP),
    (SSH, CLUSTER),
    # Launch templates are ec2-launch-template-imdsv2's; EC2 instances are not how EKS nodes start.
    (IMDS, LAUNCH_TEMPLATE),
    (IMDS, INSTANCE),
    (IMDS, CLUSTER),
    (AUTH, NODE_GROUP),
]


# ---------------------------------------------------------------------------------------------
# eks-supported-version: the configurable list.


def test_the_default_versions_are_paveds_own_on_the_day_they_were_checked() -> None:
    checked = date.fromisoformat(eks.STANDARD_SUPPORT_AS_OF)
    assert eks_versions_in_standard_support(checked) == eks.STANDARD_SUPPORT_VERSIONS
    policy = POLICIES[VERSION]
    assert policy.config_schema is not None
    assert policy.config_schema.properties["supportedVersions"]["default"] == list(
        eks.STANDARD_SUPPORT_VERSIONS
    )


def test_supported_versions_come_from_the_pack_config() -> None:
    newer = {"supportedVersions": ["1.35", "1.36", "1.37"]}
    assert run_resource(VERSION, CLUSTER, cluster(version="1.37"), config=newer).status == "ok"
    assert run_resource(VERSION, CLUSTER, cluster(version="1.37")).status == "violation"
    outcome = run_resource(VERSION, CLUSTER, cluster(version="1.34"), config=newer)
    [(message, _)] = outcome.violations
    assert "1.35, 1.36, 1.37" in message
    # Junk in the list (the CLI validates the schema, direct callers may not) is skipped, not a crash.
    junk = {"supportedVersions": ["1.36", 3, None, " ", "latest"]}
    assert run_resource(VERSION, CLUSTER, CLUSTER_PROPS, config=junk).status == "ok"
    assert run_resource(VERSION, CLUSTER, CLUSTER_PROPS, config={"supportedVersions": []}).status == "n/a"
    # Node groups take the same list, under their own policy's name.
    stack = [eks_cluster(version="1.37"), node_group()]
    assert run_stack(NODE_VERSION, stack, config=newer).status == "ok"
    assert run_stack(NODE_VERSION, stack).status == "violation"
    assert run_stack(NODE_VERSION, stack, config={"supportedVersions": []}).status == "n/a"


@pytest.mark.parametrize(
    "stack",
    [
        [node_group(but(NODES, version=UNKNOWN), on=None)],
        [eks_cluster(version=UNKNOWN), node_group()],
        # The name comes from something that is not the stack's cluster.
        [eks_cluster(), node_group(but(NODES, clusterName=UNKNOWN), on=None)],
    ],
)
def test_a_node_group_version_unknown_in_preview_is_left_to_the_sdk(stack: list[Res]) -> None:
    with pytest.raises(UnknownValueError):
        run_stack(NODE_VERSION, stack)


# ---------------------------------------------------------------------------------------------
# Launch templates: ec2-launch-template-imdsv2 (EC2.170) judges them; this family's IMDS policy did before.

DEFERRED = "deferred"
# (template, what eks-node-imdsv2-required said of it, what ec2-launch-template-imdsv2 says)
TEMPLATE_VERDICTS = [
    (TEMPLATE, "ok", "ok"),
    (metadata(httpTokens="required", httpEndpoint=UNKNOWN), "ok", "ok"),
    (metadata(httpEndpoint="enabled", httpTokens="optional"), "violation", "violation"),
    (but(TEMPLATE, metadataOptions=...), "violation", "violation"),
    # EC2.170 fails a template that turns the endpoint off instead of requiring tokens.
    (metadata(httpEndpoint="disabled"), "ok", "violation"),
    (but(TEMPLATE, metadataOptions=UNKNOWN_OBJECT_VALUE), DEFERRED, DEFERRED),
    (metadata(httpEndpoint="enabled", httpTokens=UNKNOWN), DEFERRED, DEFERRED),
    (metadata(httpEndpoint=UNKNOWN, httpTokens="optional"), DEFERRED, "violation"),
]


def _verdict(policy: str, props: dict[str, Any]) -> str:
    try:
        return run_resource(policy, LAUNCH_TEMPLATE, props).status
    except UnknownValueError:
        return DEFERRED


@pytest.mark.parametrize(("props", "before", "now"), TEMPLATE_VERDICTS)
def test_launch_templates_are_judged_once_and_no_less_strictly(
    props: dict[str, Any], before: str, now: str
) -> None:
    assert _verdict(TEMPLATE_IMDS, props) == now
    strictness = ["ok", DEFERRED, "violation"]
    assert strictness.index(now) >= strictness.index(before)
    # A template allowing IMDSv1 is one violation, not one per family.
    assert run_resource(IMDS, LAUNCH_TEMPLATE, props).status == "n/a"


def test_supported_versions_config_schema() -> None:
    schema = {"type": "object", "properties": dict(RULES[VERSION].config_schema)}
    jsonschema.validate({"supportedVersions": ["1.35", "1.36"]}, schema)
    for bad in (["1.36", "1.36"], ["1.36.2"], ["v1.36"], "1.36", [1.36]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"supportedVersions": bad}, schema)


def test_rules_are_callable_without_the_sdk() -> None:
    rule = RULES[VERSION]
    assert isinstance(rule, ResourceRule)
    ctx = ResourceContext(CLUSTER, urn_of(CLUSTER, "c"), "c", config={"supportedVersions": ["1.36"]})
    assert rule({"version": "1.36"}, ctx).status.value == "compliant"
    assert "1.35" in rule({"version": "1.35"}, ctx).message


# ---------------------------------------------------------------------------------------------
# Metadata.


def test_eks_policies_name_only_verified_equivalents() -> None:
    ids = {rule.name: (rule.checkov, rule.cdk_nag) for rule in eks.RULES}
    # CKV_AWS_39 and AwsSolutions-EKS1 fail any public endpoint; this policy passes one limited to a range.
    assert ids[ENDPOINT] == (("CKV_AWS_38",), ())
    assert ids[LOGGING] == (("CKV_AWS_37",), ("AwsSolutions-EKS2",))
    # CKV_AWS_79 judges launch templates: ec2-launch-template-imdsv2 names it; this policy judges node groups.
    assert ids[IMDS] == ((), ())


FAMILY = Family(
    name="eks",
    rules=eks.RULES,
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    other_types=OTHER_TYPES,
    stack_fuzz=[StackFuzzTarget(NODE_VERSION, NODE_GROUP, CLUSTER, "clusterName", forward=True)],
    fuzz_keys=[
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
        "clusterName",
        "region",
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
    ],
    fuzz_values=[
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
        *UNKNOWNS,
    ],
)
