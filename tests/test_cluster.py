"""The EKS cluster (components/cluster.py): its nodes, addons and controllers as recorded for the real stacks,
who may reach its private API, and the EKS versions config accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import components.cluster
from components.cluster import (
    CAPACITY_LABEL,
    CLUSTER_ADMIN_POLICY,
    CLUSTER_VIEW_POLICY,
    CONTROL_PLANE_LOGS,
    EKS_ADDONS,
    EKS_CALENDAR,
    Cluster,
    eks_version_problem,
    eks_versions_in_standard_support,
)
from components.controllers import CHARTS, KUBE_STATE_METRICS
from components.observability import Alerting
from paved.config import StackConfig, load_stack_config, load_stack_file
from paved.errors import ConfigError
from paved.presets import deep_merge
from paved.program import record, run_project
from paved.recorder import RecordedResource, Recording
from paved.values import UNKNOWN
from tests.stack_config import (
    Mutation,
    assert_rule_reports_path_and_hint,
    case,
    problems_of,
    section,
    shipped,
    with_app,
)

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RELEASE = "kubernetes:helm.sh/v3:Release"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
STACKS = ("prod", "staging")


@pytest.fixture(scope="module", params=STACKS)
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def _config(recording: Recording):
    return load_stack_file(ROOT / "stacks" / f"Pulumi.{recording.stack}.yaml", recording.stack)


def _role_of(recording: Recording, urn_dependency: list[str]) -> RecordedResource:
    [role] = [r for r in recording.of_type(ROLE) if r.urn in urn_dependency]
    return role


# --- control plane ------------------------------------------------------------------------------------------


def test_cluster_is_private_encrypted_logged_and_api_authenticated(recording: Recording) -> None:
    config = _config(recording).cluster
    cluster = recording.one(CLUSTER)
    inputs = cluster.inputs
    assert inputs["version"] == config.version
    vpc = inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is config.public_endpoint
    if config.public_endpoint:
        assert vpc["publicAccessCidrs"] == config.public_access_cidrs
        assert not {"0.0.0.0/0", "::/0"} & set(vpc["publicAccessCidrs"])
    else:
        assert "publicAccessCidrs" not in vpc
    assert inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    secrets_key = recording.one(KEY, "secrets")
    assert cluster.property_dependencies["encryptionConfig"] == [secrets_key.urn]
    assert inputs["enabledClusterLogTypes"] == list(CONTROL_PLANE_LOGS)
    assert len(CONTROL_PLANE_LOGS) == 5
    assert inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert inputs["bootstrapSelfManagedAddons"] is False


def test_cluster_is_protected_in_prod_only(prod: Recording, staging: Recording) -> None:
    for recording, protected in ((prod, True), (staging, False)):
        cluster = recording.one(CLUSTER)
        assert (cluster.protect, cluster.inputs["deletionProtection"]) == (protected, protected)


def test_staging_opens_its_endpoint_only_to_the_office(staging: Recording) -> None:
    vpc = staging.one(CLUSTER).inputs["vpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["publicAccessCidrs"]) == (True, ["203.0.113.0/24"])


def test_control_plane_log_group_exists_first_with_retention_and_kms(recording: Recording) -> None:
    cluster = recording.one(CLUSTER)
    name = cluster.inputs["name"]
    [group] = [g for g in recording.of_type(LOG_GROUP) if g.inputs["name"] == f"/aws/eks/{name}/cluster"]
    assert group.urn in cluster.dependencies
    assert group.inputs["retentionInDays"] == _config(recording).cluster.log_retention_days
    assert group.property_dependencies["kmsKeyId"] == [recording.one(KEY, "logs").urn]
    insights = {
        g.inputs["name"] for g in recording.of_type(LOG_GROUP) if "containerinsights" in g.inputs["name"]
    }
    scraped = ("prometheus",) if any(app.metrics_path for app in _config(recording).apps) else ()
    assert insights == {
        f"/aws/containerinsights/{name}/{s}"
        for s in ("application", "dataplane", "host", "performance", *scraped)
    }


def test_admin_and_viewer_roles_get_their_access_policies_through_access_entries(
    recording: Recording,
) -> None:
    cluster = _config(recording).cluster
    wanted = {arn: CLUSTER_ADMIN_POLICY for arn in cluster.admin_role_arns}
    wanted |= {arn: CLUSTER_VIEW_POLICY for arn in cluster.viewer_role_arns}
    assert cluster.viewer_role_arns, "the shipped stacks give the preview role read access"
    entries = {e.urn: e for e in recording.of_type("aws:eks/accessEntry:AccessEntry")}
    associations = recording.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert sorted(e.inputs["principalArn"] for e in entries.values()) == sorted(wanted)
    assert {e.inputs["type"] for e in entries.values()} == {"STANDARD"}
    granted = {}
    for association in associations:
        assert association.inputs["accessScope"] == {"type": "cluster"}
        # The association waits for its entry (the principal comes from the entry's output).
        [entry_urn] = association.property_dependencies["principalArn"]
        granted[entries[entry_urn].inputs["principalArn"]] = association.inputs["policyArn"]
    assert granted == wanted


def test_control_plane_role_may_use_only_the_secrets_key(prod: Recording) -> None:
    policy = prod.one(ROLE_POLICY, "cluster-control-plane")
    assert policy.property_dependencies["policy"] == [prod.one(KEY, "secrets").urn]
    trust = json.loads(prod.one(ROLE, "cluster-control-plane").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}


# --- nodes --------------------------------------------------------------------------------------------------


def test_launch_template_requires_imdsv2_and_encrypts_gp3_with_a_cmk(recording: Recording) -> None:
    template = recording.one(TEMPLATE)
    inputs = template.inputs
    metadata = inputs["metadataOptions"]
    assert (metadata["httpTokens"], metadata["httpEndpoint"]) == ("required", "enabled")
    # 2 only for the CloudWatch agent (components/cluster.py says why); never more.
    assert metadata["httpPutResponseHopLimit"] <= 2
    [device] = inputs["blockDeviceMappings"]
    ebs = device["ebs"]
    assert (device["deviceName"], ebs["volumeType"], ebs["encrypted"]) == ("/dev/xvda", "gp3", "true")
    assert ebs["volumeSize"] == _config(recording).cluster.node_volume_gib
    assert template.property_dependencies["blockDeviceMappings"] == [
        recording.one(KEY, "cluster-volumes").urn
    ]
    # EKS rejects a template with an instance profile; no key pair means no SSH.
    for forbidden in ("iamInstanceProfile", "keyName", "userData", "imageId"):
        assert forbidden not in inputs
    groups = set(template.property_dependencies["vpcSecurityGroupIds"])
    workloads = recording.one("aws:ec2/securityGroup:SecurityGroup", "network-workloads")
    assert {recording.one(CLUSTER).urn, workloads.urn} == groups


def test_volume_key_lets_auto_scaling_launch_encrypted_nodes(prod: Recording) -> None:
    policy = json.loads(prod.one(KEY, "cluster-volumes").inputs["policy"])
    by_sid = {statement.get("Sid"): statement for statement in policy["Statement"]}
    role = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    for sid in ("AutoScalingUse", "AutoScalingAttachVolumes"):
        assert by_sid[sid]["Principal"]["AWS"].endswith(role)
    assert by_sid["AutoScalingAttachVolumes"]["Action"] == "kms:CreateGrant"
    assert by_sid["AutoScalingAttachVolumes"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}
    assert prod.one(KEY, "cluster-volumes").protect is True


def test_node_groups_use_the_template_and_never_allow_ssh(recording: Recording) -> None:
    config = _config(recording).cluster
    groups = {g.inputs["labels"][CAPACITY_LABEL]: g for g in recording.of_type(NODE_GROUP)}
    assert set(groups) == ({"on-demand", "spot"} if config.spot.enabled else {"on-demand"})
    template = recording.one(TEMPLATE)
    for group in groups.values():
        inputs = group.inputs
        assert "remoteAccess" not in inputs and "diskSize" not in inputs
        assert group.property_dependencies["launchTemplate"] == [template.urn]
        # Upgrading the cluster upgrades its nodes in the same `up`.
        assert group.property_dependencies["version"] == [recording.one(CLUSTER).urn]
        assert inputs["amiType"] == "AL2023_x86_64_STANDARD"
        assert group.ignore_changes == ["scalingConfig.desiredSize"]
        assert group.property_dependencies["subnetIds"]  # the private subnets, from the network
    on_demand = groups["on-demand"].inputs
    assert on_demand["capacityType"] == "ON_DEMAND"
    assert on_demand["instanceTypes"] == config.node_instance_types
    assert on_demand["scalingConfig"] == {
        "minSize": config.node_min,
        "desiredSize": config.node_desired,
        "maxSize": config.node_max,
    }
    assert "taints" not in on_demand


def test_staging_spot_group_is_tainted_to_be_used_last(staging: Recording) -> None:
    [spot] = [g for g in staging.of_type(NODE_GROUP) if g.inputs["capacityType"] == "SPOT"]
    assert spot.inputs["instanceTypes"] == ["t3.large", "t3a.large"]
    assert spot.inputs["taints"] == [{"key": CAPACITY_LABEL, "value": "spot", "effect": "PREFER_NO_SCHEDULE"}]
    assert spot.inputs["scalingConfig"]["maxSize"] == 4


def test_node_role_has_no_cni_permissions(prod: Recording) -> None:
    node_role = prod.one(ROLE, "cluster-nodes")
    attached = [a for a in prod.of_type(ATTACHMENT) if a.property_dependencies.get("role") == [node_role.urn]]
    arns = [a.inputs["policyArn"] for a in attached]
    assert len(arns) == 2 and all(arn == UNKNOWN or "CNI" not in arn for arn in arns)


# --- addons -------------------------------------------------------------------------------------------------


def test_pod_running_addons_wait_for_nodes_and_nodes_wait_for_networking(recording: Recording) -> None:
    addons = {a.inputs["addonName"]: a for a in recording.of_type(ADDON)}
    assert set(addons) == set(EKS_ADDONS) and len(EKS_ADDONS) == 6
    node_groups = {g.urn for g in recording.of_type(NODE_GROUP)}
    for name in ("coredns", "aws-ebs-csi-driver", "amazon-cloudwatch-observability"):
        assert node_groups <= set(addons[name].dependencies), name
    for group in recording.of_type(NODE_GROUP):
        for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
            assert addons[name].urn in group.dependencies
    assert addons["eks-pod-identity-agent"].urn in addons["vpc-cni"].dependencies


def test_network_policy_enforcement_is_on(recording: Recording) -> None:
    [cni] = [a for a in recording.of_type(ADDON) if a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_aws_calling_addons_have_their_own_pod_identity_roles(prod: Recording) -> None:
    expected = {
        "vpc-cni": "aws-node",
        "aws-ebs-csi-driver": "ebs-csi-controller-sa",
        "amazon-cloudwatch-observability": "cloudwatch-agent",
    }
    for addon in prod.of_type(ADDON):
        name = addon.inputs["addonName"]
        associations = addon.inputs.get("podIdentityAssociations")
        if name not in expected:
            assert associations is None, name
            continue
        [association] = associations or []
        assert association["serviceAccount"] == expected[name]
        role = _role_of(prod, addon.property_dependencies["podIdentityAssociations"])
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert (
            trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == expected[name]
        )


def test_addon_versions_from_config_else_the_eks_default() -> None:
    raw = yaml_config("staging")
    raw["paved:cluster"]["addonVersions"] = {"vpc-cni": "v1.20.1-eksbuild.3"}
    config = load_stack_config(raw, "staging")
    assert config.cluster.addon_versions == {"vpc-cni": "v1.20.1-eksbuild.3"}
    raw["paved:cluster"]["addonVersions"] = {"vpc-cni": "latest", "istio": "v1.0.0-eksbuild.1"}
    with pytest.raises(ConfigError) as error:
        load_stack_config(raw, "staging")
    paths = [problem.path for problem in error.value.problems]
    assert "paved:cluster.addonVersions.vpc-cni" in paths
    assert any(path.startswith("paved:cluster.addonVersions") and "istio" in path for path in paths)


# --- controllers --------------------------------------------------------------------------------------------


def test_helm_charts_are_pinned_and_wait_for_the_cluster(recording: Recording) -> None:
    releases = {r.inputs["chart"]: r for r in recording.of_type(RELEASE)}
    # kube-state-metrics only with a cronjob app, which the shipped stacks lack (test_kube_state_metrics.py).
    installed = [chart for chart in CHARTS if chart is not KUBE_STATE_METRICS]
    assert set(releases) == {chart.name for chart in installed}
    node_groups = {g.urn for g in recording.of_type(NODE_GROUP)}
    for chart in installed:
        release = releases[chart.name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", release.inputs["version"]), chart.name
        assert release.inputs["version"] == chart.version
        assert release.inputs["repositoryOpts"]["repo"].startswith("https://")
        assert release.inputs["namespace"] == chart.namespace
        assert release.inputs["skipAwait"] is False
        assert node_groups <= set(release.dependencies)


def test_load_balancer_controller_is_told_its_region_and_vpc_and_makes_no_load_balancers(
    prod: Recording,
) -> None:
    values = prod.one(RELEASE, "aws-load-balancer-controller").inputs["values"]
    assert values["region"] == "eu-west-1"
    assert prod.one(RELEASE, "aws-load-balancer-controller").property_dependencies["values"]
    assert values["createIngressClassResource"] is False
    assert values["enableServiceMutatorWebhook"] is False


def _statements(policy: RecordedResource) -> list[dict]:
    return json.loads(policy.inputs["policy"])["Statement"]


@pytest.mark.parametrize("policy", ["aws-load-balancer-controller-0", "cluster-autoscaler-0"])
def test_controller_policies_use_star_only_where_aws_has_no_resource_scope(
    prod: Recording, policy: str
) -> None:
    for statement in _statements(prod.one(ROLE_POLICY, policy)):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Resource"] == "*" and "Condition" not in statement:
            # Describe/Get calls have no resource-level permissions in IAM.
            assert all(re.match(r"[a-z0-9]+:(Describe|Get)", action) for action in actions), actions


def test_load_balancer_controller_registers_targets_only_in_our_target_groups(prod: Recording) -> None:
    # The target group ARNs are unknown in preview, so the policy is judged by what it depends on.
    policy = prod.one(ROLE_POLICY, "aws-load-balancer-controller-1")
    target_groups = {t.urn for t in prod.of_type("aws:lb/targetGroup:TargetGroup")}
    assert set(policy.property_dependencies["policy"]) == target_groups
    describe = _statements(prod.one(ROLE_POLICY, "aws-load-balancer-controller-0"))
    assert not any("RegisterTargets" in str(statement["Action"]) for statement in describe)


def test_cluster_alarms_notify(prod: Recording) -> None:
    names = {a.name for a in prod.of_type(ALARM)}
    assert {"cluster-node-cpu", "cluster-node-memory", "cluster-failed-nodes"} <= names
    for name in ("cluster-node-cpu", "cluster-failed-nodes"):
        alarm = prod.one(ALARM, name)
        assert alarm.inputs["namespace"] == "ContainerInsights"
        assert alarm.property_dependencies["dimensions"] == [prod.one(CLUSTER).urn]


# --- config -------------------------------------------------------------------------------------------------


def yaml_config(stack: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"version": "1.29"}, "paved:cluster.version"),
        ({"nodeInstanceTypes": ["m7g.large", "m7i.large"]}, "paved:cluster.nodeInstanceTypes[1]"),
        ({"spot": {"min": 5, "max": 2}}, "paved:cluster.spot.min"),
        ({"spot": {"instanceTypes": ["t3.large"]}}, "paved:cluster.spot.instanceTypes"),
        ({"adminRoleArns": []}, "paved:cluster.adminRoleArns"),
        ({"adminRoleArns": ["arn:aws:iam::123456789012:user/alice"]}, "paved:cluster.adminRoleArns[0]"),
        (
            {"viewerRoleArns": ["arn:aws:iam::123456789012:role/paved-github-deploy-staging"]},
            "paved:cluster.viewerRoleArns[0]",
        ),
        ({"nodeVolumeGib": 8}, "paved:cluster.nodeVolumeGib"),
        ({"publicAccessCidrs": ["0.0.0.0/0"]}, "paved:cluster.publicAccessCidrs[0]"),
    ],
)
def test_invalid_cluster_config_names_the_key(changes: dict, path: str) -> None:
    raw = yaml_config("staging")
    cluster = raw["paved:cluster"]
    for key, value in changes.items():
        cluster[key] = {**cluster.get(key, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(ConfigError) as error:
        load_stack_config(raw, "staging")
    assert path in [problem.path for problem in error.value.problems], error.value


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", section("paved:cluster", {"version": 1.3}), "paved:cluster.version", "k8s-version"),
    case(
        "prod",
        section("paved:cluster", {"nodeInstanceTypes": []}),
        "paved:cluster.nodeInstanceTypes",
        "node-types",
    ),
    case(
        "prod", section("paved:cluster", {"nodeDesired": 2}), "paved:cluster.nodeDesired", "nodes-min-desired"
    ),
    case(
        "prod",
        section("paved:cluster", {"nodeDesired": 13}),
        "paved:cluster.nodeDesired",
        "nodes-desired-max",
    ),
    case(
        "prod",
        section("paved:cluster", {"publicEndpoint": True, "publicAccessCidrs": ["0.0.0.0/0"]}),
        "paved:cluster.publicAccessCidrs[0]",
        "no-world-open-api-v4",
    ),
    case(
        "prod",
        section("paved:cluster", {"publicEndpoint": True, "publicAccessCidrs": ["::/0"]}),
        "paved:cluster.publicAccessCidrs[0]",
        "no-world-open-api-v6",
    ),
    case(
        "prod",
        section("paved:cluster", {"publicEndpoint": True}),
        "paved:cluster.publicAccessCidrs",
        "public-endpoint-needs-cidrs",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


# --- the deployer -------------------------------------------------------------------------------------------
# `paved:cluster.deployer`: who may reach the private Kubernetes API, and nothing else.

GROUP = "aws:ec2/securityGroup:SecurityGroup"
RULES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)
INGRESS = RULES[0]
DEPLOYER_GROUP = "cluster-deployer"


def _with_cluster(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    return deep_merge(shipped(stack), {"paved:cluster": changes})


def _rules_of(recording: Recording, group: RecordedResource) -> list[RecordedResource]:
    return [
        rule
        for rule in recording.resources
        if rule.type in RULES and group.urn in rule.property_dependencies.get("securityGroupId", [])
    ]


def _admitted(recording: Recording, group: RecordedResource) -> set[str]:
    """The sources a group admits, after checking that each of its rules is ingress on TCP 443 only."""
    rules = _rules_of(recording, group)
    for rule in rules:
        assert rule.type == INGRESS, f"{rule.name}: the deployer group has no egress rules"
        inputs = rule.inputs
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
        assert rule.inputs["description"]
    sources = [rule.inputs.get("referencedSecurityGroupId") or rule.inputs["cidrIpv4"] for rule in rules]
    assert len(sources) == len(set(sources)), sources
    return set(sources)


def _assert_only_the_control_plane_carries(recording: Recording, group: RecordedResource) -> None:
    vpc = recording.one(CLUSTER).property_dependencies["vpcConfig"]
    cluster_inputs = recording.one(CLUSTER).inputs["vpcConfig"]
    assert len(cluster_inputs["securityGroupIds"]) == 1
    assert group.urn in vpc
    # The nodes must not get it: the launch template names the cluster and workload groups only.
    assert group.urn not in recording.one(TEMPLATE).property_dependencies["vpcSecurityGroupIds"]


# --- the shipped stacks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_each_stack_admits_exactly_its_runner_on_443_through_a_group_of_its_own(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # Staging's public endpoint admits the office alone: its runner, in the VPC, comes in privately.
    recording = shipped_recordings(stack)
    deployer = load_stack_config(shipped(stack), stack).cluster.deployer
    assert deployer.is_set, "GitHub's hosted runners reach no paved API: the stack file names its runner"
    group = recording.one(GROUP, DEPLOYER_GROUP)
    assert _admitted(recording, group) == {*deployer.security_group_ids, *deployer.cidrs}
    _assert_only_the_control_plane_carries(recording, group)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_rule_is_added_to_the_eks_cluster_security_group(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # The launch template puts that group on every node, so a rule there would open the nodes too.
    recording = shipped_recordings(stack)
    cluster = recording.one(CLUSTER)
    opened = [
        rule.name
        for rule in recording.resources
        if rule.type in RULES and cluster.urn in rule.property_dependencies.get("securityGroupId", [])
    ]
    assert not opened


# --- both kinds of source, on the Cluster component alone ---------------------------------------------------


def _record_cluster(config: StackConfig) -> Recording:
    def program() -> None:
        alerting = Alerting(
            "alerts", config.alerts, kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/alerts", tags={}
        )
        Cluster(
            "cluster",
            config.cluster,
            vpc_id="vpc-0123456789abcdef0",
            subnet_ids=["subnet-0a", "subnet-0b", "subnet-0c"],
            workload_security_group_id="sg-0bbbbbbbbbbbbbbbb",
            secrets_key_arn="arn:aws:kms:eu-west-1:123456789012:key/secrets",
            logs_key_arn="arn:aws:kms:eu-west-1:123456789012:key/logs",
            alerting=alerting,
            protect=True,
            tags={},
        )

    return record(program, stack="prod", config={"aws:region": "eu-west-1"})


def test_a_cluster_without_a_deployer_adds_no_group_to_the_control_plane() -> None:
    raw = shipped("staging")
    del raw["paved:cluster"]["deployer"]
    recording = _record_cluster(load_stack_config(raw, "staging"))
    assert not [group for group in recording.of_type(GROUP) if group.name == DEPLOYER_GROUP]
    assert "securityGroupIds" not in recording.one(CLUSTER).inputs["vpcConfig"]


def test_security_groups_and_vpn_ranges_are_each_admitted_on_443() -> None:
    groups = ["sg-0aaaaaaaaaaaaaaaa", "sg-0cccccccccccccccc"]
    sources = {"securityGroupIds": groups, "cidrs": ["10.100.0.0/22"]}
    config = load_stack_config(_with_cluster("prod", {"deployer": sources}), "prod")
    recording = _record_cluster(config)
    group = recording.one(GROUP, DEPLOYER_GROUP)
    assert group.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert _admitted(recording, group) == {*groups, "10.100.0.0/22"}
    _assert_only_the_control_plane_carries(recording, group)


# --- config -------------------------------------------------------------------------------------------------


def test_private_prod_without_a_deployer_names_the_key_and_the_three_ways() -> None:
    raw = shipped("prod")
    del raw["paved:cluster"]["deployer"]
    [problem] = [p for p in problems_of(raw, "prod") if p.path == "paved:cluster.deployer"]
    for way in ("paved:cluster.deployer", "securityGroupIds", "cidrs", "publicEndpoint", "publicAccessCidrs"):
        assert way in problem.hint


def test_a_public_endpoint_or_staging_needs_no_deployer() -> None:
    raw = shipped("prod")
    del raw["paved:cluster"]["deployer"]
    endpoint = {"publicEndpoint": True, "publicAccessCidrs": ["198.51.100.7/32"]}
    public = deep_merge(raw, {"paved:cluster": endpoint})
    assert not load_stack_config(public, "prod").cluster.deployer.is_set
    private_staging = _with_cluster("staging", {"publicEndpoint": False, "publicAccessCidrs": []})
    del private_staging["paved:cluster"]["deployer"]
    cluster = load_stack_config(private_staging, "staging").cluster
    assert (cluster.public_endpoint, cluster.deployer.is_set) == (False, False)


@pytest.mark.parametrize(
    ("cidr", "hint_names"),
    [
        ("203.0.113.0/24", "publicAccessCidrs"),  # a public range belongs on the public endpoint
        ("0.0.0.0/0", "VPN"),
        ("8.0.0.0/7", "publicAccessCidrs"),
        ("fd00::/8", "publicAccessCidrs"),  # the VPC and its endpoint are IPv4
        ("10.0.0.1/8", "host bits"),
    ],
)
def test_a_deployer_cidr_must_be_a_private_ipv4_range(cidr: str, hint_names: str) -> None:
    raw = _with_cluster("prod", {"deployer": {"cidrs": ["10.8.0.0/16", cidr]}})
    [problem] = [p for p in problems_of(raw, "prod") if p.path.startswith("paved:cluster.deployer")]
    assert problem.path == "paved:cluster.deployer.cidrs[1]"
    assert hint_names in problem.hint


@pytest.mark.parametrize("cidr", ["10.8.0.0/16", "172.20.0.0/22", "192.168.10.0/24", "100.64.0.0/10"])
def test_private_and_shared_vpn_ranges_are_accepted(cidr: str) -> None:
    config = load_stack_config(_with_cluster("prod", {"deployer": {"cidrs": [cidr]}}), "prod")
    assert config.cluster.deployer.cidrs == [cidr]


def test_a_deployer_security_group_must_be_an_id() -> None:
    raw = _with_cluster("prod", {"deployer": {"securityGroupIds": ["sg-0123456789abcdef0", "my-runner-sg"]}})
    assert "paved:cluster.deployer.securityGroupIds[1]" in [p.path for p in problems_of(raw, "prod")]


def test_readme_lists_every_chart_repository_the_runner_must_reach() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Deploying to a private cluster", 1)[1].split("\n## ", 1)[0]
    for chart in CHARTS:
        assert chart.repository in section, f"README does not list {chart.name}'s repository"


# --- EKS versions -------------------------------------------------------------------------------------------
# EKS versions: config accepts only versions in standard support on the day it runs, by EKS's calendar.
#
# Every test in this section fixes the day: the calendar moves, the tests must not.

ISSUE_DAY = date(2026, 12, 4)


def test_calendar_rows_are_fourteen_then_twelve_months() -> None:
    # The rule the AWS page states; a mistyped date breaks it.
    for version, dates in EKS_CALENDAR.items():
        released = dates.eks_release
        assert dates.end_of_standard_support == released.replace(
            year=released.year + (released.month + 14 - 1) // 12, month=(released.month + 14 - 1) % 12 + 1
        ), version
        assert dates.end_of_extended_support == dates.end_of_standard_support.replace(
            year=dates.end_of_standard_support.year + 1
        ), version


@pytest.mark.parametrize(
    ("day", "versions"),
    [
        (date(2026, 7, 28), ("1.33", "1.34", "1.35", "1.36")),
        (date(2026, 7, 29), ("1.34", "1.35", "1.36")),
        # Extended billing starts at the beginning of the end date: 1.34 is out on 2 Dec 2026 itself.
        (date(2026, 12, 1), ("1.34", "1.35", "1.36")),
        (date(2026, 12, 2), ("1.35", "1.36")),
        (ISSUE_DAY, ("1.35", "1.36")),
        (date(2027, 3, 27), ("1.36",)),
        (date(2026, 6, 1), ("1.33", "1.34", "1.35")),
    ],
)
def test_versions_in_standard_support_follow_the_calendar(day: date, versions: tuple[str, ...]) -> None:
    assert eks_versions_in_standard_support(day) == versions


def test_a_version_past_standard_support_says_when_it_ended_and_why_the_config_must_follow_the_cluster() -> (
    None
):
    problem = eks_version_problem("1.34", ISSUE_DAY)
    assert problem is not None
    message, hint = problem
    assert "left standard support on 2026-12-02" in message
    assert "ends 2027-12-02" in message
    assert "1.35 (standard support until 2027-03-27)" in hint
    assert "1.36 (standard support until 2027-08-02)" in hint
    # With upgradePolicy STANDARD, EKS has already moved the cluster on; it can't go back.
    assert "STANDARD" in hint and "can't downgrade" in hint


def test_unknown_and_unreleased_versions_are_rejected() -> None:
    unknown = eks_version_problem("1.29", ISSUE_DAY)
    assert unknown is not None and "not in paved's EKS calendar" in unknown[0]
    assert eks_version_problem("1.37", ISSUE_DAY) is not None
    unreleased = eks_version_problem("1.36", date(2026, 5, 1))
    assert unreleased is not None and "not released on EKS until 2026-06-02" in unreleased[0]
    assert eks_version_problem("1.36", ISSUE_DAY) is None


def _staging_with(version: str) -> dict:
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())["config"]
    raw["paved:cluster"]["version"] = version
    return raw


@pytest.mark.parametrize(("day", "accepted"), [(date(2026, 12, 1), True), (ISSUE_DAY, False)])
def test_config_checks_the_version_against_the_day_it_runs(
    monkeypatch: pytest.MonkeyPatch, day: date, accepted: bool
) -> None:
    monkeypatch.setattr(components.cluster, "today", lambda: day)
    raw = _staging_with("1.34")
    if accepted:
        assert load_stack_config(raw, "staging").cluster.version == "1.34"
        return
    with pytest.raises(ConfigError) as error:
        load_stack_config(raw, "staging")
    [problem] = [p for p in error.value.problems if p.path == "paved:cluster.version"]
    assert "2026-12-02" in problem.message


def test_readme_lists_the_versions_in_standard_support_on_the_day_it_names() -> None:
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `version` | a version in EKS")]
    found = re.fullmatch(
        r".*?standard support on the day config is loaded: (.*?) on (\d{4}-\d\d-\d\d) .*", row
    )
    assert found, row
    listed, day = found.groups()
    named = tuple(re.findall(r'"(\d+\.\d+)"', listed))
    assert named == eks_versions_in_standard_support(date.fromisoformat(day))


# --- the observability add-on: scraping and Application Signals -------------------------------------------

# The CloudWatch agent's own JSON schema (tests/fixtures/cloudwatch-agent/README.md).
AGENT_SCHEMA = ROOT / "tests" / "fixtures" / "cloudwatch-agent" / "schema.json"
# The part of the add-on's configuration schema that paved writes (its README says where it comes from).
ADDON_SCHEMA = (
    ROOT / "tests" / "fixtures" / "eks-addon-cloudwatch-observability" / "configuration-schema.json"
)


def _observability_addon(recording: Recording) -> RecordedResource:
    [addon] = [
        a for a in recording.of_type(ADDON) if a.inputs["addonName"] == "amazon-cloudwatch-observability"
    ]
    return addon


def _observability_values(recording: Recording) -> dict[str, Any]:
    return json.loads(_observability_addon(recording).inputs["configurationValues"])


def _addon_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(ADDON_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def scraped() -> Recording:
    """prod with the api and the worker serving metrics (the worker over HTTPS)."""
    raw = with_app(shipped("prod"), 1, {"metricsPath": "/api/metrics"})
    return run_project(
        ROOT, "prod", with_app(raw, 2, {"metricsPath": "/metrics", "backendProtocol": "HTTPS"})
    )


def test_application_signals_instruments_only_the_apps_that_opt_in(recording: Recording) -> None:
    values = _observability_values(recording)
    assert values["manager"] == {"applicationSignals": {"autoMonitor": {"monitorAllServices": False}}}
    # The shipped stacks scrape the api alone (its metricsPath); the node agent stays as the chart builds it.
    node_agent, scraper = values["agents"]
    assert node_agent == {"name": "cloudwatch-agent"}
    jobs = scraper["prometheus"]["config"]["scrape_configs"]
    assert [job["job_name"] for job in jobs] == ["api"]


def test_a_single_scraper_reads_the_apps_that_serve_metrics(scraped: Recording) -> None:
    values = _observability_values(scraped)
    assert values["manager"]["applicationSignals"]["autoMonitor"] == {"monitorAllServices": False}
    node_agent, scraper = values["agents"]
    assert node_agent == {"name": "cloudwatch-agent"}
    # On the pod network: the apps' NetworkPolicies then admit this pod's address, not its node's.
    assert (scraper["name"], scraper["mode"], scraper["replicas"], scraper["hostNetwork"]) == (
        "cloudwatch-agent-prometheus",
        "deployment",
        1,
        False,
    )
    cluster = f"paved-{scraped.stack}"
    prometheus = scraper["config"]["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["cluster_name"] == cluster
    [declaration] = prometheus["emf_processor"]["metric_declaration"]
    assert re.fullmatch(declaration["label_matcher"], "api") and not re.fullmatch(
        declaration["label_matcher"], "web"
    )
    jobs = {job["job_name"]: job for job in scraper["prometheus"]["config"]["scrape_configs"]}
    assert set(jobs) == {"api", "worker"}
    assert (jobs["api"]["metrics_path"], jobs["api"]["scheme"]) == ("/api/metrics", "http")
    assert jobs["api"]["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["api"]}}]
    keeps = {
        r["source_labels"][0]: r["regex"] for r in jobs["api"]["relabel_configs"] if r.get("action") == "keep"
    }
    assert keeps == {
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "api",
        "__meta_kubernetes_pod_container_port_number": "3000",
    }
    assert (jobs["worker"]["scheme"], jobs["worker"]["tls_config"]) == (
        "https",
        {"insecure_skip_verify": True},
    )
    # Its EMF lands in a group paved creates first, with retention and the logs key.
    [group] = [g for g in scraped.of_type(LOG_GROUP) if g.inputs["name"] == prometheus["log_group_name"]]
    assert group.inputs["name"] == f"/aws/containerinsights/{cluster}/prometheus"
    assert group.property_dependencies["kmsKeyId"] == [scraped.one(KEY, "logs").urn]


def test_the_add_on_waits_for_every_container_insights_group_the_prometheus_one_included(
    recording: Recording,
) -> None:
    # With no app serving metrics too: the prometheus group doesn't come and go with the last metricsPath.
    cluster = f"paved-{recording.stack}"
    groups = {
        g.inputs["name"]: g
        for g in recording.of_type(LOG_GROUP)
        if g.inputs["name"].startswith(f"/aws/containerinsights/{cluster}/")
    }
    assert set(groups) == {
        f"/aws/containerinsights/{cluster}/{stream}"
        for stream in ("application", "dataplane", "host", "performance", "prometheus")
    }
    addon = _observability_addon(recording)
    assert {g.urn for g in groups.values()} <= set(addon.dependencies)
    for group in groups.values():
        assert group.property_dependencies["kmsKeyId"] == [recording.one(KEY, "logs").urn]
        assert group.inputs["retentionInDays"] == _config(recording).cluster.log_retention_days


@pytest.mark.parametrize("case", ["shipped", "scraped"])
def test_the_add_on_configuration_passes_the_add_ons_schema(
    case: str, recording: Recording, scraped: Recording
) -> None:
    _addon_validator().validate(_observability_values(scraped if case == "scraped" else recording))


@pytest.mark.parametrize(
    "values",
    [
        {"manager": {"applicationSignals": {"autoMonitor": {"monitorAllService": False}}}},
        {"manager": {"applicationSignals": {"autoMonitor": {"monitorAllServices": "false"}}}},
        {"applicationSignal": {"enabled": False}},
        {"agents": [{"name": "cloudwatch-agent-prometheus", "hostNetworking": False}]},
        {"agents": [{"name": "cloudwatch-agent-prometheus", "prometheus": {"scrape_configs": []}}]},
    ],
)
def test_the_add_on_schema_refuses_a_misspelt_key_or_a_wrong_type(values: dict[str, Any]) -> None:
    assert list(_addon_validator().iter_errors(values))


def test_the_scrapers_agent_config_passes_the_agents_own_schema(scraped: Recording) -> None:
    [_, scraper] = _observability_values(scraped)["agents"]
    jsonschema.validate(scraper["config"], json.loads(AGENT_SCHEMA.read_text()))
