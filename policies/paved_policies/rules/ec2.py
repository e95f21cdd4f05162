"""EC2 rules: instances, launch templates, EBS, Site-to-Site and Client VPN, transit gateways, and the
account-level EC2 settings a program may declare.

Each rule decides one AWS Security Hub FSBP control (https://docs.aws.amazon.com/securityhub/latest/userguide/
ec2-controls.html) from what the program declares, with AWS's default where a property is unset. Where
the outcome hangs on something outside the program (an account-level default it does not declare, an AMI
or subnet it only names), the rule fails and says what the program could set to decide it, as the pack
does elsewhere: it never passes on a guess.

Account-level settings (EBS encryption by default, instance metadata defaults) count for a resource only
when declared for the same region and account (paved_policies.placement). Launch templates are judged on
their declared settings, which AWS evaluates only when they are the template's default version: every
template rule requires `updateDefaultVersion` so the two are the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paved_policies.placement import place_of
from paved_policies.props import (
    any_of,
    get,
    get_bool,
    get_flag,
    get_map,
    get_seq,
    get_text,
    has_value,
    problems_found,
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
from paved_policies.rules.vpc import DEFAULT_SUBNET, SUBNET

INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE_REQUEST = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
# A spot instance request launches an instance from the same arguments as ec2.Instance.
INSTANCES = (INSTANCE, SPOT_INSTANCE_REQUEST)
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AMI = "aws:ec2/ami:Ami"
VOLUME = "aws:ebs/volume:Volume"
VOLUME_ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
SNAPSHOT_BLOCK_PUBLIC_ACCESS = "aws:ebs/snapshotBlockPublicAccess:SnapshotBlockPublicAccess"
METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
NETWORK_INTERFACE_ATTACHMENT = "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment"
SPOT_FLEET_REQUEST = "aws:ec2/spotFleetRequest:SpotFleetRequest"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
VPC_BLOCK_PUBLIC_ACCESS = "aws:ec2/vpcBlockPublicAccessOptions:VpcBlockPublicAccessOptions"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
CLIENT_VPN_ENDPOINT = "aws:ec2clientvpn/endpoint:Endpoint"

CONTROL_PAGE = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#"


def _lower(props: Any, key: str) -> str:
    return (get_text(props, key) or "").lower()


def _placed_like(setting: GraphResource, props: Mapping[str, Any], provider: Mapping[str, Any]) -> bool:
    """Whether an account-level setting is declared for the region and account this resource is in."""
    return place_of(setting.props, provider_props(setting)) == place_of(props, provider)


# --- EBS -----------------------------------------------------------------------------------------------


def _unencrypted_devices(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The EBS volumes of a Volume or an instance that do not set encrypted: true."""
    if resource_type == VOLUME:
        return [] if get_bool(props, "encrypted") else ["the volume"]
    devices = [("rootBlockDevice", get_map(props, "rootBlockDevice"))]
    devices += [(f"ebsBlockDevices[{i}]", d) for i, d in enumerate(get_seq(props, "ebsBlockDevices"))]
    return problems_found(
        [
            lambda label=label, d=device: None if get_bool(d, "encrypted") else label
            for label, device in devices
        ]
    )


def _encrypted_by_default(ctx: StackContext, props: Mapping[str, Any], provider: Mapping[str, Any]) -> bool:
    # pulumi-aws's EncryptionByDefault `enabled` defaults to true; once on, every new volume is encrypted.
    settings = ctx.of_types((ENCRYPTION_BY_DEFAULT,))
    return any_of(
        settings,
        lambda setting: (
            get_bool(setting.props, "enabled") is not False and _placed_like(setting, props, provider)
        ),
    )


def ebs_encryption_gaps(
    resource_type: str, props: Mapping[str, Any], provider: Mapping[str, Any], ctx: StackContext
) -> list[str]:
    """The volumes of a Volume or an instance that AWS may create unencrypted: those not set encrypted, unless
    the stack turns EBS encryption by default on where the resource lives. An unset `encrypted` is not
    taken for encrypted: the AMI's or source snapshot's encryption and an undeclared account default, which
    would decide it, are out of the program's sight."""
    gaps = _unencrypted_devices(resource_type, props)
    if gaps and _encrypted_by_default(ctx, props, provider):
        return []
    return gaps


@resource_rule(
    name="ebs-encryption-by-default",
    description="A declared EBS encryption-by-default setting turns it on.",
    severity="medium",
    remediation=(
        "Leave aws.ebs.EncryptionByDefault's enabled unset or True (and choose the key with "
        "aws.ebs.DefaultKmsKey). Deleting the resource turns the setting off in the account and region."
    ),
    resource_types=(ENCRYPTION_BY_DEFAULT,),
    checkov=("CKV_AWS_106",),
    fsbp=("EC2.7",),
    url="https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
)
def ebs_encryption_by_default(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "enabled") is False:
        return violation(f"'{ctx.name}' turns EBS encryption by default off (enabled: false).")
    return compliant()


@stack_rule(
    name="ebs-attached-volumes-encrypted",
    description=(
        "EBS volumes attached to instances, and instances' root and EBS block devices, are encrypted: set "
        "so, or created where the stack turns EBS encryption by default on."
    ),
    severity="medium",
    remediation=(
        "Set encrypted=True (and kms_key_id) on the aws.ebs.Volume, or on the instance's root_block_device "
        "and every ebs_block_devices entry; or declare aws.ebs.EncryptionByDefault (enabled) for the same "
        "region and account."
    ),
    resource_types=(VOLUME, *INSTANCES),
    checkov=("CKV_AWS_3", "CKV_AWS_8"),
    fsbp=("EC2.3",),
    # EC2.3 judges attached volumes only.
    url=CONTROL_PAGE + "ec2-3",
)
def ebs_attached_volumes_encrypted(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.resource_type == VOLUME and not ctx.referrers("volumeId", (VOLUME_ATTACHMENT,)):
        return not_applicable(f"no {VOLUME_ATTACHMENT} of this program attaches the volume")
    gaps = ebs_encryption_gaps(ctx.resource_type, props, ctx.provider, ctx)
    if not gaps:
        return compliant()
    return violation(
        f"'{ctx.name}': {', '.join(gaps)} not set encrypted, and the stack turns on no "
        f"{ENCRYPTION_BY_DEFAULT} for its region and account."
    )


@resource_rule(
    name="ebs-snapshot-block-public-access",
    description="A declared EBS snapshot block public access setting blocks all public sharing.",
    severity="high",
    remediation=(
        "Set aws.ebs.SnapshotBlockPublicAccess state='block-all-sharing' ('block-new-sharing' leaves "
        "snapshots shared before public)."
    ),
    resource_types=(SNAPSHOT_BLOCK_PUBLIC_ACCESS,),
    fsbp=("EC2.182",),
    url="https://docs.aws.amazon.com/ebs/latest/userguide/block-public-access-snapshots.html",
)
def ebs_snapshot_block_public_access(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    state = _lower(props, "state")
    if state == "block-all-sharing":
        return compliant()
    return violation(f"'{ctx.name}' sets state {state or '<unset>'}, not block-all-sharing.")


# --- Instances -----------------------------------------------------------------------------------------


def _templates(ctx: StackContext) -> Sequence[GraphResource]:
    """The stack's launch templates this instance launches from."""
    return ctx.dependencies("launchTemplate", (LAUNCH_TEMPLATE,))


def _http_tokens(props: Any) -> str:
    return _lower(get_map(props, "metadataOptions"), "httpTokens")


def _imds_setting(props: Mapping[str, Any], ctx: StackContext) -> tuple[str, str]:
    """(httpTokens, where it comes from) by AWS's precedence: the instance, its launch template, the
    account default for its region. An AMI's ImdsSupport ranks below the account default, which the program
    may not declare, so it never settles the question here."""
    tokens = _http_tokens(props)
    if tokens:
        return tokens, "metadataOptions.httpTokens"
    for template in _templates(ctx):
        tokens = _http_tokens(template.props)
        if tokens:
            return tokens, f"launch template '{template.name}'"
    for defaults in ctx.of_types((METADATA_DEFAULTS,)):
        tokens = _lower(defaults.props, "httpTokens")
        if tokens in ("required", "optional") and _placed_like(defaults, props, ctx.provider):
            return tokens, f"the account default '{defaults.name}'"
    return "", ""


@stack_rule(
    name="ec2-instance-imdsv2",
    description="EC2 instances require IMDSv2 session tokens (httpTokens 'required').",
    severity="high",
    remediation=(
        "Set metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens='required') on the instance, "
        "or launch it from a launch template that does, or declare aws.ec2.InstanceMetadataDefaults "
        "(http_tokens='required') for its region and account."
    ),
    resource_types=INSTANCES,
    checkov=("CKV_AWS_79",),
    fsbp=("EC2.8",),
    # httpTokens unset: the account default decides, then the AMI's ImdsSupport (v2.0 means required):
    url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html",
)
def ec2_instance_imdsv2(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    tokens, source = _imds_setting(props, ctx)
    if tokens == "required":
        return compliant()
    if tokens:
        return violation(f"Instance '{ctx.name}' allows IMDSv1: httpTokens is {tokens} ({source}).")
    return violation(
        f"Instance '{ctx.name}' sets no httpTokens, nor does its launch template or a declared "
        f"{METADATA_DEFAULTS}, so the account default and the AMI decide whether IMDSv1 answers."
    )


def _eni_urns(ctx: StackContext) -> list[str]:
    """The stack's network interfaces this instance uses: as its primary one, or attached to it."""
    enis = [*ctx.dependencies("primaryNetworkInterface", (NETWORK_INTERFACE,))]
    enis += ctx.dependencies("networkInterfaces", (NETWORK_INTERFACE,))
    for attachment in ctx.referrers("instanceId", (NETWORK_INTERFACE_ATTACHMENT,)):
        enis += ctx.graph.dependencies(attachment.urn, "networkInterfaceId", (NETWORK_INTERFACE,))
    enis += ctx.referrers("attachments", (NETWORK_INTERFACE,))
    return [eni.urn for eni in enis]


def _elastic_ips(ctx: StackContext) -> list[str]:
    """The Elastic IPs the stack puts on this instance, directly or on one of its network interfaces."""
    eips = [*ctx.referrers("instance", (EIP,)), *ctx.referrers("instanceId", (EIP_ASSOCIATION,))]
    for eni in _eni_urns(ctx):
        eips += ctx.graph.referrers(eni, "networkInterface", (EIP,))
        eips += ctx.graph.referrers(eni, "networkInterfaceId", (EIP_ASSOCIATION,))
    return [eip.name for eip in eips]


def _primary_interface_of(template: GraphResource) -> Any:
    interfaces = get_seq(template.props, "networkInterfaces")
    primary = [nic for nic in interfaces if get(nic, "deviceIndex") in (0, None)]
    return primary[0] if primary else None


def _subnet_assigns_public_ip(subnet: GraphResource) -> bool:
    # A default subnet maps public IPv4 addresses unless told not to (pulumi-aws DefaultSubnet docs).
    mapped = get_bool(subnet.props, "mapPublicIpOnLaunch")
    return mapped if mapped is not None else subnet.resource_type == DEFAULT_SUBNET


def _public_ip_source(props: Mapping[str, Any], ctx: StackContext) -> tuple[bool | None, str]:
    """(whether the instance gets a public IPv4 address, why); None when the program cannot tell."""
    assign = get_bool(props, "associatePublicIpAddress")
    if assign is not None:
        return assign, f"associatePublicIpAddress is {str(assign).lower()}"
    # A network interface created beforehand never gets an automatic public address.
    if has_value(get_map(props, "primaryNetworkInterface"), "networkInterfaceId"):
        return False, "it uses an existing network interface"
    for template in _templates(ctx):
        assigned = get_flag(_primary_interface_of(template), "associatePublicIpAddress")
        if assigned is not None:
            setting = str(assigned).lower()
            return assigned, f"launch template '{template.name}' sets associatePublicIpAddress {setting}"
    subnets = ctx.dependencies("subnetId", (SUBNET, DEFAULT_SUBNET))
    if subnets:
        public = any_of(subnets, _subnet_assigns_public_ip)
        return public, f"its subnet '{subnets[0].name}' {'maps' if public else 'does not map'} public IPs"
    if not has_value(props, "subnetId") and not _templates(ctx):
        return True, "it names no subnet, so it launches in a default subnet, which maps public IPs"
    return None, "its subnet is not declared in this program"


@stack_rule(
    name="ec2-instance-no-public-ip",
    description="EC2 instances have no public IPv4 address: none assigned at launch, no Elastic IP.",
    severity="high",
    remediation=(
        "Set associate_public_ip_address=False, launch into a private subnet, and put no aws.ec2.Eip or "
        "aws.ec2.EipAssociation on the instance or its network interfaces; reach it through a load "
        "balancer or SSM Session Manager."
    ),
    resource_types=INSTANCES,
    checkov=("CKV_AWS_88",),
    fsbp=("EC2.9",),
    url=CONTROL_PAGE + "ec2-9",
)
def ec2_instance_no_public_ip(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    eips = _elastic_ips(ctx)
    if eips:
        return violation(
            f"Instance '{ctx.name}' has a public IPv4 address from Elastic IP {', '.join(eips)}."
        )
    public, why = _public_ip_source(props, ctx)
    if public is False:
        return compliant()
    if public:
        return violation(f"Instance '{ctx.name}' gets a public IPv4 address: {why}.")
    return violation(
        f"Instance '{ctx.name}' sets no associatePublicIpAddress and {why}, so whether it gets a public "
        "IPv4 address cannot be checked; set associate_public_ip_address=False."
    )


@stack_rule(
    name="ec2-instance-single-network-interface",
    description="EC2 instances are given one network interface, not several.",
    severity="low",
    remediation=(
        "Give the instance only its primary network interface: no secondary_network_interfaces, no more than "
        "one network_interfaces entry, no aws.ec2.NetworkInterfaceAttachment or NetworkInterface attachment "
        "to it, and a launch template with at most one network_interfaces entry."
    ),
    resource_types=INSTANCES,
    fsbp=("EC2.17",),
    url=CONTROL_PAGE + "ec2-17",
)
def ec2_instance_single_network_interface(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    extra = []
    if len(get_seq(props, "networkInterfaces")) > 1:
        extra.append(f"networkInterfaces lists {len(get_seq(props, 'networkInterfaces'))}")
    if get_seq(props, "secondaryNetworkInterfaces"):
        extra.append("secondaryNetworkInterfaces")
    extra += [f"attachment '{r.name}'" for r in ctx.referrers("instanceId", (NETWORK_INTERFACE_ATTACHMENT,))]
    extra += [f"network interface '{r.name}'" for r in ctx.referrers("attachments", (NETWORK_INTERFACE,))]
    extra += [
        f"launch template '{t.name}' lists {len(get_seq(t.props, 'networkInterfaces'))} interfaces"
        for t in _templates(ctx)
        if len(get_seq(t.props, "networkInterfaces")) > 1
    ]
    if not extra:
        return compliant()
    return violation(f"Instance '{ctx.name}' gets more than one network interface: {'; '.join(extra)}.")


# Only these previous-generation families can run paravirtual AMIs; every current one runs HVM only:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/virtualization_types.html
PARAVIRTUAL_FAMILIES = frozenset({"c1", "c3", "hs1", "m1", "m2", "m3", "t1"})


def _instance_type(props: Mapping[str, Any], ctx: StackContext) -> str:
    declared = get_text(props, "instanceType")
    if declared:
        return declared.lower()
    return next((t for t in (_lower(t.props, "instanceType") for t in _templates(ctx)) if t), "")


@stack_rule(
    name="ec2-instance-hvm",
    description="EC2 instances run HVM AMIs, not paravirtual ones.",
    severity="medium",
    remediation=(
        "Use a current-generation instance type (they run HVM only), or an HVM AMI; on an aws.ec2.Ami set "
        "virtualization_type='hvm' (pulumi-aws defaults it to paravirtual)."
    ),
    resource_types=INSTANCES,
    fsbp=("EC2.24",),
    url=CONTROL_PAGE + "ec2-24",
)
def ec2_instance_hvm(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    amis = ctx.dependencies("ami", (AMI,))
    if amis:
        # pulumi-aws's Ami defaults virtualizationType to paravirtual.
        paravirtual = [
            ami.name for ami in amis if (_lower(ami.props, "virtualizationType") or "paravirtual") != "hvm"
        ]
        if not paravirtual:
            return compliant()
        return violation(f"Instance '{ctx.name}' runs AMI '{paravirtual[0]}', which is paravirtual.")
    instance_type = _instance_type(props, ctx)
    family = instance_type.split(".", 1)[0]
    if instance_type and family not in PARAVIRTUAL_FAMILIES:
        return compliant()
    return violation(
        f"Instance '{ctx.name}' has type {instance_type or '<unset>'}, which can run paravirtual AMIs, and "
        "its AMI is not declared in this program, so its virtualization type cannot be checked."
    )


# The ENI types the control judges that a program can declare (interfaceType unset is "interface"):
# https://docs.aws.amazon.com/config/latest/developerguide/ec2-enis-source-destination-check-enabled.html
CHECKED_INTERFACE_TYPES = ("", "interface", "efa", "branch")


@resource_rule(
    name="ec2-source-dest-check",
    description="Network interfaces and EC2 instances keep source/destination checking on.",
    severity="medium",
    remediation=(
        "Leave source_dest_check unset or True. An instance that routes others' traffic (a NAT instance) "
        "should be a NAT gateway instead."
    ),
    resource_types=(NETWORK_INTERFACE, *INSTANCES),
    fsbp=("EC2.180",),
    url=CONTROL_PAGE + "ec2-180",
)
def ec2_source_dest_check(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if (
        ctx.resource_type == NETWORK_INTERFACE
        and _lower(props, "interfaceType") not in CHECKED_INTERFACE_TYPES
    ):
        return not_applicable(f"interfaceType {_lower(props, 'interfaceType')} is not judged by EC2.180")
    # An instance's flag is its primary network interface's.
    if get_bool(props, "sourceDestCheck") is False:
        return violation(f"'{ctx.name}' turns source/destination checking off (sourceDestCheck: false).")
    return compliant()


# --- Launch templates ----------------------------------------------------------------------------------


def _template_finding(props: Mapping[str, Any], ctx: ResourceContext, problems: list[str]) -> Finding:
    """The verdict on a launch template: its problems, and whether AWS judges these settings at all."""
    # pulumi-aws adds a version on every change but makes it the default only with updateDefaultVersion;
    # AWS's controls judge the default version.
    if get_bool(props, "updateDefaultVersion") is not True:
        problems = [
            *problems,
            "updateDefaultVersion is not true, so after a change AWS keeps judging an older version",
        ]
    if not problems:
        return compliant()
    return violation(f"Launch template '{ctx.name}': {'; '.join(problems)}.")


@resource_rule(
    name="ec2-launch-template-imdsv2",
    description="Launch templates require IMDSv2 session tokens (httpTokens 'required').",
    severity="high",
    remediation=(
        "Set metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_tokens='required') and "
        "update_default_version=True. Turning the endpoint off (http_endpoint='disabled') does not pass."
    ),
    resource_types=(LAUNCH_TEMPLATE,),
    checkov=("CKV_AWS_79",),
    fsbp=("EC2.170",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/ec2-launch-template-imdsv2-check.html",
)
def ec2_launch_template_imdsv2(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    tokens = _http_tokens(props)
    problems = [] if tokens == "required" else [f"metadataOptions.httpTokens is {tokens or 'unset'}"]
    return _template_finding(props, ctx, problems)


@resource_rule(
    name="ec2-launch-template-no-public-ip",
    description="Launch templates do not assign public IP addresses to network interfaces.",
    severity="high",
    remediation=(
        "Set associate_public_ip_address='false' (or leave it unset) on every network_interfaces entry, and "
        "update_default_version=True."
    ),
    resource_types=(LAUNCH_TEMPLATE,),
    checkov=("CKV_AWS_88",),
    fsbp=("EC2.25",),
    url=CONTROL_PAGE + "ec2-25",
)
def ec2_launch_template_no_public_ip(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = [
        f"networkInterfaces[{i}] sets associatePublicIpAddress"
        for i, nic in enumerate(get_seq(props, "networkInterfaces"))
        if get_flag(nic, "associatePublicIpAddress")
    ]
    return _template_finding(props, ctx, problems)


@resource_rule(
    name="ec2-launch-template-ebs-encrypted",
    description="Launch templates do not turn off encryption of the EBS volumes they map.",
    severity="medium",
    remediation=(
        "Set encrypted='true' (with kms_key_id) on every block_device_mappings entry's ebs, never 'false', "
        "and update_default_version=True."
    ),
    resource_types=(LAUNCH_TEMPLATE,),
    fsbp=("EC2.181",),
    # An unset `encrypted` is no finding: the control judges explicit settings only.
    url="https://docs.aws.amazon.com/config/latest/developerguide/ec2-launch-templates-ebs-volume-encrypted.html",
)
def ec2_launch_template_ebs_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = [
        f"blockDeviceMappings[{i}] sets ebs.encrypted false"
        for i, mapping in enumerate(get_seq(props, "blockDeviceMappings"))
        if get_flag(get_map(mapping, "ebs"), "encrypted") is False
    ]
    return _template_finding(props, ctx, problems)


@resource_rule(
    name="ec2-spot-fleet-ebs-encrypted",
    description="Spot Fleet requests' launch specifications do not turn off encryption of their EBS volumes.",
    severity="medium",
    remediation=(
        "Set encrypted=True on every root_block_devices and ebs_block_devices entry of every "
        "launch_specifications entry, or launch from an encrypting launch template (launch_template_configs)."
    ),
    resource_types=(SPOT_FLEET_REQUEST,),
    fsbp=("EC2.173",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/ec2-spot-fleet-request-ct-encryption-at-rest.html",
)
def ec2_spot_fleet_ebs_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    specifications = get_seq(props, "launchSpecifications")
    if not specifications:
        return not_applicable("no launchSpecifications (launch templates are judged on their own)")
    problems = [
        f"launchSpecifications[{i}].{kind}[{j}]"
        for i, specification in enumerate(specifications)
        for kind in ("rootBlockDevices", "ebsBlockDevices")
        for j, device in enumerate(get_seq(specification, kind))
        if get_bool(device, "encrypted") is False
    ]
    if not problems:
        return compliant()
    return violation(f"Spot Fleet request '{ctx.name}' sets encrypted false on {', '.join(problems)}.")


# --- Networking ----------------------------------------------------------------------------------------


@resource_rule(
    name="ec2-transit-gateway-no-auto-accept",
    description="Transit gateways do not accept shared VPC attachment requests automatically.",
    severity="high",
    remediation="Leave auto_accept_shared_attachments unset or 'disable'; accept each attachment on purpose.",
    resource_types=(TRANSIT_GATEWAY,),
    fsbp=("EC2.23",),
    url=CONTROL_PAGE + "ec2-23",
)
def ec2_transit_gateway_no_auto_accept(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _lower(props, "autoAcceptSharedAttachments") == "enable":
        return violation(f"Transit gateway '{ctx.name}' sets autoAcceptSharedAttachments enable.")
    return compliant()


INTERNET_GATEWAY_BLOCKS = ("block-bidirectional", "block-ingress")


@resource_rule(
    name="ec2-vpc-block-public-access",
    description="A declared VPC Block Public Access setting blocks internet gateway traffic.",
    severity="medium",
    remediation=(
        "Set aws.ec2.VpcBlockPublicAccessOptions internet_gateway_block_mode='block-bidirectional' (or "
        "'block-ingress'), with aws.ec2.VpcBlockPublicAccessExclusion for the subnets or VPCs that must "
        "still reach or be reached from the internet. Deleting the resource turns the block off."
    ),
    resource_types=(VPC_BLOCK_PUBLIC_ACCESS,),
    fsbp=("EC2.172",),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/security-vpc-bpa.html",
)
def ec2_vpc_block_public_access(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    mode = _lower(props, "internetGatewayBlockMode")
    if mode in INTERNET_GATEWAY_BLOCKS:
        return compliant()
    return violation(f"'{ctx.name}' sets internetGatewayBlockMode {mode or '<unset>'}, which blocks nothing.")


TUNNELS = ("tunnel1", "tunnel2")


@resource_rule(
    name="ec2-vpn-tunnel-logging",
    description="Both tunnels of every Site-to-Site VPN connection log to CloudWatch Logs.",
    severity="medium",
    remediation=(
        "Set tunnel1_log_options and tunnel2_log_options to cloudwatch_log_options=(log_enabled=True, "
        "log_group_arn=<a log group>.arn)."
    ),
    resource_types=(VPN_CONNECTION,),
    fsbp=("EC2.171",),
    url=CONTROL_PAGE + "ec2-171",
)
def ec2_vpn_tunnel_logging(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    unlogged = [
        tunnel
        for tunnel in TUNNELS
        if get_bool(get_map(get_map(props, f"{tunnel}LogOptions"), "cloudwatchLogOptions"), "logEnabled")
        is not True
    ]
    if not unlogged:
        return compliant()
    return violation(f"VPN connection '{ctx.name}' does not log {' and '.join(unlogged)} (logEnabled).")


@resource_rule(
    name="ec2-vpn-ikev2-only",
    description="Both tunnels of every Site-to-Site VPN connection accept IKEv2 only.",
    severity="medium",
    remediation="Set tunnel1_ike_versions=['ikev2'] and tunnel2_ike_versions=['ikev2']; unset allows IKEv1.",
    resource_types=(VPN_CONNECTION,),
    fsbp=("EC2.183",),
    url=CONTROL_PAGE + "ec2-183",
)
def ec2_vpn_ikev2_only(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    loose = []
    for tunnel in TUNNELS:
        versions = [str(version).strip().lower() for version in get_seq(props, f"{tunnel}IkeVersions")]
        if versions != ["ikev2"]:
            loose.append(f"{tunnel} ({', '.join(versions) or 'unset, so ikev1 and ikev2'})")
    if not loose:
        return compliant()
    return violation(f"VPN connection '{ctx.name}' allows IKEv1 on {' and '.join(loose)}.")


@resource_rule(
    name="ec2-client-vpn-connection-logging",
    description="Client VPN endpoints log client connections.",
    severity="low",
    remediation=(
        "Set connection_log_options=aws.ec2clientvpn.EndpointConnectionLogOptionsArgs(enabled=True, "
        "cloudwatch_log_group=<a log group>.name)."
    ),
    resource_types=(CLIENT_VPN_ENDPOINT,),
    fsbp=("EC2.51",),
    url="https://docs.aws.amazon.com/vpn/latest/clientvpn-admin/connection-logging.html",
)
def ec2_client_vpn_connection_logging(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(get_map(props, "connectionLogOptions"), "enabled") is True:
        return compliant()
    return violation(
        f"Client VPN endpoint '{ctx.name}' does not log connections (connectionLogOptions.enabled)."
    )


RULES = (
    ebs_encryption_by_default,
    ebs_attached_volumes_encrypted,
    ebs_snapshot_block_public_access,
    ec2_instance_imdsv2,
    ec2_instance_no_public_ip,
    ec2_instance_single_network_interface,
    ec2_instance_hvm,
    ec2_source_dest_check,
    ec2_launch_template_imdsv2,
    ec2_launch_template_no_public_ip,
    ec2_launch_template_ebs_encrypted,
    ec2_spot_fleet_ebs_encrypted,
    ec2_transit_gateway_no_auto_accept,
    ec2_vpc_block_public_access,
    ec2_vpn_tunnel_logging,
    ec2_vpn_ikev2_only,
    ec2_client_vpn_connection_logging,
)
