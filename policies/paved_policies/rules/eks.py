"""EKS rules: clusters and managed node groups.

The launch templates nodes start from are judged by rules/ec2.py (ec2-launch-template-imdsv2 and the other
launch template rules), whoever uses them; here a node group is judged only for what it adds.

Every AWS default these rules lean on was read in AWS's API reference; an unset value is judged as what
AWS does with it, never as "probably fine":
- `vpcConfig.endpointPublicAccess` defaults to true, and `publicAccessCidrs` to 0.0.0.0/0 (plus ::/0
  on dual-stack IPv6 clusters): https://docs.aws.amazon.com/eks/latest/APIReference/API_VpcConfigRequest.html
- `accessConfig.authenticationMode` defaults to CONFIG_MAP when a cluster is created through the EKS API,
  an SDK or CloudFormation (pulumi-aws calls the API):
  https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessConfigRequest.html
- A node group with `remoteAccess.ec2SshKey` and no source security groups opens port 22 (3389 on
  Windows) to 0.0.0.0/0: https://docs.aws.amazon.com/eks/latest/APIReference/API_RemoteAccessConfig.html
  (the same sentence is in pulumi-aws 7.51.1 `NodeGroupRemoteAccessArgs`).
- A node group without `version` takes its cluster's Kubernetes version:
  https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from paved_policies.cidrs import open_to_everyone
from paved_policies.placement import place_of
from paved_policies.props import (
    UNKNOWN,
    any_item,
    as_map,
    as_seq,
    get,
    get_bool,
    get_map,
    get_seq,
    get_text,
    has_item,
    has_value,
    peek,
    peek_items,
    raise_first_unknown,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    provider_props,
    resource_rule,
    stack_rule,
    violation,
)

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"

# What AWS allows to reach a public endpoint when publicAccessCidrs is unset (API_VpcConfigRequest).
DEFAULT_PUBLIC_ACCESS_CIDRS = ("0.0.0.0/0",)
# Exact and case-sensitive, as the EKS API and CloudFormation's LoggingTypeConfig spell them:
# https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# Kubernetes minor versions in EKS standard support on STANDARD_SUPPORT_AS_OF, by the EKS release calendar
# (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html) as EKS_CALENDAR in
# components/cluster.py records it; a test keeps the two equal. The pack doesn't import paved, so the list is
# written out here: when AWS's calendar moves, override it per stack with --policy-pack-config, and refresh
# both together.
STANDARD_SUPPORT_AS_OF = "2026-12-04"
STANDARD_SUPPORT_VERSIONS = ("1.35", "1.36")
VERSIONS_CONFIG_KEY = "supportedVersions"
# CONFIG_MAP (the API default) authenticates only through the aws-auth ConfigMap.
ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")

_MINOR_VERSION = re.compile(r"(\d+)\.(\d+)")


@resource_rule(
    name="eks-endpoint-not-public",
    description=(
        "The EKS API server endpoint is private, or public only to listed CIDRs: never to 0.0.0.0/0 or "
        "::/0, which is what an unset endpointPublicAccess and publicAccessCidrs give."
    ),
    severity="high",
    remediation=(
        "Set vpc_config.endpoint_public_access=False and endpoint_private_access=True, and reach the API "
        "from inside the VPC (VPN, SSM, a CI runner in the VPC). If it must stay public, set "
        "public_access_cidrs to your office or CI egress ranges: leaving it unset means 0.0.0.0/0."
    ),
    resource_types=(CLUSTER,),
    # CKV_AWS_38 is this check (a false endpointPublicAccess, or CIDRs without 0.0.0.0/0). CKV_AWS_39 and
    # cdk-nag AwsSolutions-EKS1 (EKSClusterNoEndpointPublicAccess) fail every public endpoint, even one
    # limited to an office range, so they are stricter checks and not named here.
    checkov=("CKV_AWS_38",),
    # EKS.1 fails every public endpoint, listed CIDRs or not: fsbp_controls.json says why paved differs.
    url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
)
def eks_endpoint_not_public(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    vpc = get_map(props, "vpcConfig")
    if get_bool(vpc, "endpointPublicAccess") is False:
        return compliant()
    cidr_list = get_seq(vpc, "publicAccessCidrs")
    items = peek_items(cidr_list)
    cidrs = [c for c in strings(items) if c.strip()]
    if not cidrs and not any(item is UNKNOWN for item in items):
        return violation(
            f"EKS cluster '{ctx.name}' has a public API endpoint and no publicAccessCidrs, so AWS opens it "
            f"to {', '.join(DEFAULT_PUBLIC_ACCESS_CIDRS)}."
        )
    world = open_to_everyone(cidrs)
    if world:
        return violation(
            f"EKS cluster '{ctx.name}' has a public API endpoint open to everyone: publicAccessCidrs "
            f"{', '.join(world)}."
        )
    # An unknown CIDR (another resource's output) may still be 0.0.0.0/0: the SDK reports it as not
    # checkable in preview.
    raise_first_unknown(cidr_list, items)
    return compliant()


@resource_rule(
    name="eks-control-plane-logging",
    description=(
        "EKS clusters send all five control-plane log types to CloudWatch Logs: api, audit, "
        "authenticator, controllerManager and scheduler."
    ),
    severity="medium",
    remediation=(
        "Set enabled_cluster_log_types=['api', 'audit', 'authenticator', 'controllerManager', "
        "'scheduler'] and create the log group /aws/eks/<cluster name>/cluster yourself, with a retention "
        "and a KMS key, before the cluster (depends_on), or EKS creates it without either."
    ),
    resource_types=(CLUSTER,),
    checkov=("CKV_AWS_37",),
    cdk_nag=("AwsSolutions-EKS2",),
    # EKS.8 asks for the audit log only; all five are stricter.
    fsbp=("EKS.8",),
    url="https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html",
)
def eks_control_plane_logging(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    log_types = get_seq(props, "enabledClusterLogTypes")
    items = peek_items(log_types)
    missing = [t for t in CONTROL_PLANE_LOG_TYPES if t not in strings(items)]
    if not missing:
        return compliant()
    # The unknown item may be the missing type.
    raise_first_unknown(log_types, items)
    return violation(f"EKS cluster '{ctx.name}' does not send the {', '.join(missing)} control-plane log(s).")


def _encryption_configs(props: Mapping[str, Any]) -> Sequence[Any]:
    """encryptionConfig as a list: one object in pulumi-aws 7.x, a list in older providers and pulumi-eks."""
    value = get(props, "encryptionConfig")
    return [value] if isinstance(value, Mapping) else as_seq(value)


def _encrypts_secrets_with_a_key(config: Any) -> bool:
    config = as_map(config)
    resources = get_seq(config, "resources")
    items = peek_items(resources)
    if "secrets" not in strings(items):
        raise_first_unknown(resources, items)
        return False
    # A presence check: the key's ARN is another resource's output, unknown in a first preview.
    provider = peek(lambda: get(config, "provider"))
    return provider is UNKNOWN or has_value(as_map(provider), "keyArn")


@resource_rule(
    name="eks-secrets-encryption",
    description=(
        "EKS clusters envelope-encrypt Kubernetes secrets with a customer managed KMS key "
        "(encryptionConfig with resources ['secrets'] and a provider keyArn)."
    ),
    severity="high",
    remediation=(
        "Set encryption_config=aws.eks.ClusterEncryptionConfigArgs(resources=['secrets'], "
        "provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=<a symmetric KMS key in the "
        "cluster's region>.arn)). The caller creating the cluster needs kms:DescribeKey and kms:CreateGrant "
        "on the key. Since Kubernetes 1.28 EKS encrypts with an AWS owned key by default; the customer "
        "managed key adds rotation, key policy and CloudTrail audit under your control."
    ),
    resource_types=(CLUSTER,),
    # No cdk-nag rule checks EKS secrets encryption.
    checkov=("CKV_AWS_58",),
    fsbp=("EKS.3",),
    url="https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html",
)
def eks_secrets_encryption(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    configs = _encryption_configs(props)
    if any_item(configs, _encrypts_secrets_with_a_key):
        return compliant()
    return violation(
        f"EKS cluster '{ctx.name}' has no encryptionConfig with resources ['secrets'] and a provider keyArn."
    )


def _minor_version(value: str) -> str | None:
    """'1.36' for '1.36' (or ' 1.36 '); None for anything that is not major.minor."""
    match = _MINOR_VERSION.fullmatch(value.strip())
    return f"{int(match[1])}.{int(match[2])}" if match else None


def _supported(config: Mapping[str, Any]) -> list[str]:
    wanted = config.get(VERSIONS_CONFIG_KEY, STANDARD_SUPPORT_VERSIONS)
    versions = (_minor_version(v) for v in strings(as_seq(wanted)))
    return list(dict.fromkeys(v for v in versions if v))


def _version_finding(who: str, version: str, supported: list[str]) -> Finding:
    if _minor_version(version) in supported:
        return compliant()
    return violation(
        f"{who} runs Kubernetes {version}, which is not in standard support ({', '.join(supported)})."
    )


VERSIONS_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    VERSIONS_CONFIG_KEY: {
        "type": "array",
        "items": {"type": "string", "pattern": r"^\d+\.\d+$"},
        "uniqueItems": True,
        "default": list(STANDARD_SUPPORT_VERSIONS),
        "description": "Kubernetes minor versions (e.g. '1.36') EKS clusters and node groups may run.",
    }
}
NO_VERSIONS = "no supported EKS versions are configured"


def _versions_config_example(policy: str) -> str:
    return (
        f"When AWS's calendar moves, change the list with a --policy-pack-config file holding "
        f'{{"{policy}": {{"{VERSIONS_CONFIG_KEY}": ["1.35", "1.36", "1.37"]}}}}.'
    )


@resource_rule(
    name="eks-supported-version",
    description=(
        "EKS clusters pin a Kubernetes version that is in standard support (pack config "
        f"`{VERSIONS_CONFIG_KEY}`, default {list(STANDARD_SUPPORT_VERSIONS)}, those in standard support on "
        f"{STANDARD_SUPPORT_AS_OF}); an unset version is a violation."
    ),
    severity="medium",
    remediation=(
        "Set version to a version in standard support and upgrade one minor version at a time; "
        "aws.eks.get_cluster_versions(version_status='STANDARD_SUPPORT') lists them. Without a version EKS "
        "picks its default at create time and the cluster then ages silently into extended support, billed "
        "at a higher hourly rate. " + _versions_config_example("eks-supported-version")
    ),
    resource_types=(CLUSTER,),
    # checkov's CKV_AWS_339 checks the same with its own hard-coded list (and passes an unset version).
    checkov=("CKV_AWS_339",),
    # EKS.2 fails versions below its oldestVersionSupported (1.34 when read); standard support only and an
    # unset version failing are stricter.
    fsbp=("EKS.2",),
    config_schema=VERSIONS_SCHEMA,
    url="https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
)
def eks_supported_version(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    supported = _supported(ctx.config)
    if not supported:
        return not_applicable(NO_VERSIONS)
    version = get_text(props, "version")
    if version is None:
        return violation(
            f"EKS cluster '{ctx.name}' sets no version, so EKS picks one at create time and it later ages "
            f"into extended support; pin one of {', '.join(supported)}."
        )
    return _version_finding(f"EKS cluster '{ctx.name}'", version, supported)


def _cluster_of(props: Mapping[str, Any], ctx: StackContext) -> GraphResource | None:
    """The stack's cluster a node group joins: the one its clusterName came from, else the one of that name
    placed in the same region and account."""
    built_from = ctx.dependencies("clusterName", (CLUSTER,))
    if built_from:
        return built_from[0]
    name = get_text(props, "clusterName")
    if name is None:
        return None
    place = place_of(props, ctx.provider)
    for cluster in ctx.of_types((CLUSTER,)):
        same_name = peek(lambda cluster=cluster: get_text(cluster.props, "name")) == name
        if same_name and place_of(cluster.props, provider_props(cluster)) == place:
            return cluster
    return None


def _followed_cluster(props: Mapping[str, Any], ctx: StackContext) -> GraphResource | None:
    """The stack's cluster whose version a node group runs when its own is not known: the one its version
    output was taken from (version=cluster.version, unknown in a first preview), else, with no version set,
    the cluster it joins, whose version EKS gives it at create."""
    if peek(lambda: get(props, "version")) is not UNKNOWN:
        return _cluster_of(props, ctx)
    taken_from = ctx.dependencies("version", (CLUSTER,))
    if not taken_from:
        get(props, "version")  # another resource's output: the SDK reports "can't run policy during preview"
    return taken_from[0]


@stack_rule(
    name="eks-node-group-supported-version",
    description=(
        "EKS managed node groups run a Kubernetes version in standard support (pack config "
        f"`{VERSIONS_CONFIG_KEY}`, default {list(STANDARD_SUPPORT_VERSIONS)}): their own version, or when "
        "unset the version of their cluster in the stack."
    ),
    severity="high",
    remediation=(
        "Upgrade the node group right after its cluster: set aws.eks.NodeGroup version to the cluster's, or "
        "leave it unset so the group takes the cluster's version. "
        + _versions_config_example("eks-node-group-supported-version")
    ),
    resource_types=(NODE_GROUP,),
    fsbp=("EKS.9",),
    config_schema=VERSIONS_SCHEMA,
    url="https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html",
)
def eks_node_group_supported_version(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    supported = _supported(ctx.config)
    if not supported:
        return not_applicable(NO_VERSIONS)
    version = peek(lambda: get_text(props, "version"))
    if isinstance(version, str):
        return _version_finding(f"Node group '{ctx.name}'", version, supported)
    cluster = _followed_cluster(props, ctx)
    if cluster is None:
        return not_applicable(f"node group '{ctx.name}' sets no version and its cluster is not in the stack")
    cluster_version = get_text(cluster.props, "version")
    if cluster_version is None:
        # The cluster's own policy, eks-supported-version, fails that.
        return not_applicable(
            f"node group '{ctx.name}' follows cluster '{cluster.name}', which pins no version"
        )
    return _version_finding(f"Node group '{ctx.name}' (cluster '{cluster.name}')", cluster_version, supported)


@resource_rule(
    name="eks-node-group-no-open-ssh",
    description=(
        "Managed node groups with an SSH key name the security groups allowed to reach it; without them "
        "EKS opens port 22 (3389 on Windows) on every node to 0.0.0.0/0."
    ),
    severity="high",
    remediation=(
        "Drop remote_access and reach nodes through SSM Session Manager (AmazonSSMManagedInstanceCore on "
        "the node role). If SSH is needed, set remote_access.source_security_group_ids to a bastion's "
        "security group, or use a launch template with its own security groups."
    ),
    resource_types=(NODE_GROUP,),
    checkov=("CKV_AWS_100",),
    url="https://docs.aws.amazon.com/eks/latest/APIReference/API_RemoteAccessConfig.html",
)
def eks_node_group_no_open_ssh(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    remote = get_map(props, "remoteAccess")
    # Presence checks: the key name and the groups' ids are often other resources' outputs.
    if not has_value(remote, "ec2SshKey") or has_item(remote, "sourceSecurityGroupIds"):
        return compliant()
    return violation(
        f"Node group '{ctx.name}' sets remoteAccess.ec2SshKey without sourceSecurityGroupIds, so EKS opens "
        "port 22 (3389 on Windows) on its nodes to 0.0.0.0/0."
    )


@resource_rule(
    name="eks-node-imdsv2-required",
    description=(
        "Managed node groups start their nodes from a launch template of the program's, whose IMDSv2 "
        "setting ec2-launch-template-imdsv2 judges, not from the one EKS generates."
    ),
    severity="high",
    remediation=(
        "Create an aws.ec2.LaunchTemplate with metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs("
        "http_endpoint='enabled', http_tokens='required', http_put_response_hop_limit=1) (hop limit 2 only "
        "if pods must reach IMDS themselves) and update_default_version=True, and pass it to every "
        "aws.eks.NodeGroup as launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, "
        "version=lt.latest_version.apply(str)). The group is replaced to take it."
    ),
    # The templates themselves are ec2-launch-template-imdsv2's (EC2.170): it fails every template this
    # policy used to fail, and a disabled metadata endpoint too, so a template allowing IMDSv1 is reported
    # once, by it. What stays here is the node group only the EKS family sees.
    #
    # A managed node group without a launch template runs on one EKS generates. The EKS user guide
    # (nodes/launch-templates.adoc) documents only its hop limit (2), not its httpTokens (UNCONFIRMED), and
    # the program can neither set nor see it, and the group cannot switch to a custom template without
    # being replaced. AWS's EKS security best practices set "V2 only (token required)" through a custom
    # launch template (https://docs.aws.amazon.com/eks/latest/userguide/best-practices-security.html, as
    # quoted in cloudposse/terraform-aws-eks-node-group#62). So such a node group is a violation.
    resource_types=(NODE_GROUP,),
    url="https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html",
)
def eks_node_imdsv2_required(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # A presence check: the template's id is unknown until it exists.
    template = peek(lambda: get(props, "launchTemplate"))
    if template is UNKNOWN or has_value(template, "id") or has_value(template, "name"):
        return compliant()
    return violation(
        f"Node group '{ctx.name}' has no launchTemplate, so its nodes start from one EKS generates, "
        "whose IMDSv2 setting the program can neither set nor check."
    )


@resource_rule(
    name="eks-access-entries-auth",
    description=(
        "EKS clusters authenticate IAM principals through access entries (authenticationMode API or "
        "API_AND_CONFIG_MAP), not the aws-auth ConfigMap alone, which is what an unset mode gives."
    ),
    severity="medium",
    remediation=(
        "Set access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode='API', "
        "bootstrap_cluster_creator_admin_permissions=False) and grant access with aws.eks.AccessEntry and "
        "aws.eks.AccessPolicyAssociation. Moving an existing cluster is one way: CONFIG_MAP to "
        "API_AND_CONFIG_MAP, then API."
    ),
    resource_types=(CLUSTER,),
    # The aws-auth ConfigMap is deprecated: https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html
    url="https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html",
)
def eks_access_entries_auth(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    mode = get_text(get_map(props, "accessConfig"), "authenticationMode")
    if mode is not None and mode.upper() in ACCESS_ENTRY_MODES:
        return compliant()
    shown = mode or "unset, so CONFIG_MAP"
    return violation(
        f"EKS cluster '{ctx.name}' authenticates only through the aws-auth ConfigMap "
        f"(accessConfig.authenticationMode {shown})."
    )


RULES = (
    eks_endpoint_not_public,
    eks_control_plane_logging,
    eks_secrets_encryption,
    eks_supported_version,
    eks_node_group_supported_version,
    eks_node_group_no_open_ssh,
    eks_node_imdsv2_required,
    eks_access_entries_auth,
)
