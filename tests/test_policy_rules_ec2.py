"""The EC2 and ACM families: instances, launch templates, EBS, VPN and transit gateways, and certificates.

Fixtures and the tests only these families need; tests/test_policy_pack.py runs the tables below with every
other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels). Imported certificates are
real PEMs from tests/fixtures/certificates (made with openssl: RSA 2048 and 1024 and P-256 keys valid for a
century, and an RSA 2048 one valid for a day, so already past ACM.1's 30 days).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from paved_policies.rules import acm, ec2
from paved_policies.x509 import RSA_ENCRYPTION, parse_certificate
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_OBJECT_VALUE, UnknownValueError

from tests.policy_harness import (
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    but,
    run_stack,
)

CERTIFICATES = Path(__file__).resolve().parent / "fixtures" / "certificates"

INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AMI = "aws:ec2/ami:Ami"
VOLUME = "aws:ebs/volume:Volume"
ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
SNAPSHOT_BPA = "aws:ebs/snapshotBlockPublicAccess:SnapshotBlockPublicAccess"
METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
ENI = "aws:ec2/networkInterface:NetworkInterface"
ENI_ATTACHMENT = "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment"
SPOT_FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
VPC_BPA = "aws:ec2/vpcBlockPublicAccessOptions:VpcBlockPublicAccessOptions"
VPN = "aws:ec2/vpnConnection:VpnConnection"
CLIENT_VPN = "aws:ec2clientvpn/endpoint:Endpoint"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"

BY_DEFAULT_POLICY = "ebs-encryption-by-default"
ATTACHED = "ebs-attached-volumes-encrypted"
SNAPSHOTS = "ebs-snapshot-block-public-access"
IMDS = "ec2-instance-imdsv2"
PUBLIC_IP = "ec2-instance-no-public-ip"
ONE_ENI = "ec2-instance-single-network-interface"
HVM = "ec2-instance-hvm"
SOURCE_DEST = "ec2-source-dest-check"
TEMPLATE_IMDS = "ec2-launch-template-imdsv2"
TEMPLATE_PUBLIC_IP = "ec2-launch-template-no-public-ip"
TEMPLATE_EBS = "ec2-launch-template-ebs-encrypted"
SPOT_FLEET_EBS = "ec2-spot-fleet-ebs-encrypted"
AUTO_ACCEPT = "ec2-transit-gateway-no-auto-accept"
VPC_BLOCK = "ec2-vpc-block-public-access"
VPN_LOGS = "ec2-vpn-tunnel-logging"
IKEV2 = "ec2-vpn-ikev2-only"
CLIENT_VPN_LOGS = "ec2-client-vpn-connection-logging"
RENEWAL = "acm-certificate-renewal"
RSA = "acm-certificate-rsa-2048"


def pem(name: str) -> str:
    return (CERTIFICATES / f"{name}.pem").read_text()


# An instance as a program declares one in a first preview: its subnet, AMI and template ids unknown.
SERVER: dict[str, Any] = {
    "ami": "ami-0123456789abcdef0",
    "instanceType": "m7i.large",
    "subnetId": UNKNOWN,
    "associatePublicIpAddress": False,
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required"},
    "rootBlockDevice": {"encrypted": True, "volumeType": "gp3", "kmsKeyId": UNKNOWN},
}
# A launch template as paved's EKS nodes use one (components/cluster.py): the engine sends its booleans as
# the strings pulumi-aws declares them as.
NODE_TEMPLATE: dict[str, Any] = {
    "metadataOptions": {"httpEndpoint": "enabled", "httpPutResponseHopLimit": 2.0, "httpTokens": "required"},
    "blockDeviceMappings": [
        {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeType": "gp3", "kmsKeyId": UNKNOWN}}
    ],
    "networkInterfaces": [{"deviceIndex": 0.0, "associatePublicIpAddress": "false"}],
    "updateDefaultVersion": True,
}
FLEET_SPEC: dict[str, Any] = {
    "ami": "ami-0123456789abcdef0",
    "instanceType": "m7i.large",
    "rootBlockDevices": [{"encrypted": True}],
    "ebsBlockDevices": [{"deviceName": "/dev/sdb", "encrypted": True}],
}
LOGGED_TUNNEL = {"cloudwatchLogOptions": {"logEnabled": True, "logGroupArn": UNKNOWN}}
VPN_PROPS: dict[str, Any] = {
    "customerGatewayId": UNKNOWN,
    "transitGatewayId": UNKNOWN,
    "type": "ipsec.1",
    "tunnel1IkeVersions": ["ikev2"],
    "tunnel2IkeVersions": ["ikev2"],
    "tunnel1LogOptions": LOGGED_TUNNEL,
    "tunnel2LogOptions": LOGGED_TUNNEL,
}
# A DNS-validated certificate as paved requests one (components/certificates.py).
REQUESTED = {
    "domainName": "example.com",
    "subjectAlternativeNames": ["*.example.com"],
    "validationMethod": "DNS",
}


def imported(name: str) -> dict[str, Any]:
    return {"certificateBody": pem(name), "privateKey": UNKNOWN}


RESOURCE_CASES: list[ResourceCase] = [
    # ebs-encryption-by-default
    ("by-default-unset", BY_DEFAULT_POLICY, BY_DEFAULT, {}, "ok", ""),
    ("by-default-on", BY_DEFAULT_POLICY, BY_DEFAULT, {"enabled": True}, "ok", ""),
    ("by-default-off", BY_DEFAULT_POLICY, BY_DEFAULT, {"enabled": False}, "violation", "enabled: false"),
    # ebs-snapshot-block-public-access
    ("snapshots-block-all", SNAPSHOTS, SNAPSHOT_BPA, {"state": "block-all-sharing"}, "ok", ""),
    (
        "snapshots-block-new",
        SNAPSHOTS,
        SNAPSHOT_BPA,
        {"state": "block-new-sharing"},
        "violation",
        "block-new",
    ),
    ("snapshots-unblocked", SNAPSHOTS, SNAPSHOT_BPA, {"state": "unblocked"}, "violation", "unblocked"),
    # ec2-source-dest-check
    ("eni-default", SOURCE_DEST, ENI, {"subnetId": UNKNOWN}, "ok", ""),
    ("eni-efa-off", SOURCE_DEST, ENI, {"interfaceType": "efa", "sourceDestCheck": False}, "violation", "off"),
    ("eni-trunk", SOURCE_DEST, ENI, {"interfaceType": "trunk", "sourceDestCheck": False}, "n/a", ""),
    ("instance-check-on", SOURCE_DEST, INSTANCE, SERVER, "ok", ""),
    (
        "nat-instance",
        SOURCE_DEST,
        INSTANCE,
        but(SERVER, sourceDestCheck=False),
        "violation",
        "sourceDestCheck",
    ),
    ("spot-nat-instance", SOURCE_DEST, SPOT_INSTANCE, {"sourceDestCheck": False}, "violation", "off"),
    # ec2-launch-template-imdsv2
    ("template-imdsv2", TEMPLATE_IMDS, TEMPLATE, NODE_TEMPLATE, "ok", ""),
    (
        "template-imds-optional",
        TEMPLATE_IMDS,
        TEMPLATE,
        but(NODE_TEMPLATE, metadataOptions={"httpTokens": "optional"}),
        "violation",
        "httpTokens is optional",
    ),
    (
        # EC2.170 judges tokens only: an endpoint turned off does not pass it.
        "template-imds-disabled",
        TEMPLATE_IMDS,
        TEMPLATE,
        but(NODE_TEMPLATE, metadataOptions={"httpEndpoint": "disabled"}),
        "violation",
        "httpTokens is unset",
    ),
    (
        "template-imds-not-the-default-version",
        TEMPLATE_IMDS,
        TEMPLATE,
        but(NODE_TEMPLATE, updateDefaultVersion=...),
        "violation",
        "updateDefaultVersion is not true",
    ),
    # ec2-launch-template-no-public-ip
    ("template-private", TEMPLATE_PUBLIC_IP, TEMPLATE, NODE_TEMPLATE, "ok", ""),
    (
        "template-public-ip",
        TEMPLATE_PUBLIC_IP,
        TEMPLATE,
        but(
            NODE_TEMPLATE,
            networkInterfaces=[{"associatePublicIpAddress": "false"}, {"associatePublicIpAddress": "True"}],
        ),
        "violation",
        "networkInterfaces[1] sets associatePublicIpAddress",
    ),
    # ec2-launch-template-ebs-encrypted
    ("template-encrypted", TEMPLATE_EBS, TEMPLATE, NODE_TEMPLATE, "ok", ""),
    # The control judges explicit settings only: an unset flag is no finding.
    (
        "template-encryption-unset",
        TEMPLATE_EBS,
        TEMPLATE,
        but(NODE_TEMPLATE, blockDeviceMappings=[{"ebs": {}}]),
        "ok",
        "",
    ),
    (
        "template-unencrypted",
        TEMPLATE_EBS,
        TEMPLATE,
        but(
            NODE_TEMPLATE,
            blockDeviceMappings=[{"ebs": {"encrypted": "true"}}, {"ebs": {"encrypted": "false"}}],
        ),
        "violation",
        "blockDeviceMappings[1] sets ebs.encrypted false",
    ),
    # ec2-spot-fleet-ebs-encrypted
    ("fleet-encrypted", SPOT_FLEET_EBS, SPOT_FLEET, {"launchSpecifications": [FLEET_SPEC]}, "ok", ""),
    (
        "fleet-unencrypted-root",
        SPOT_FLEET_EBS,
        SPOT_FLEET,
        {"launchSpecifications": [FLEET_SPEC, but(FLEET_SPEC, rootBlockDevices=[{"encrypted": False}])]},
        "violation",
        "launchSpecifications[1].rootBlockDevices[0]",
    ),
    (
        "fleet-templates",
        SPOT_FLEET_EBS,
        SPOT_FLEET,
        {"launchTemplateConfigs": [{"overrides": []}]},
        "n/a",
        "",
    ),
    # ec2-transit-gateway-no-auto-accept
    ("tgw-default", AUTO_ACCEPT, TRANSIT_GATEWAY, {"description": "hub"}, "ok", ""),
    (
        "tgw-auto-accept",
        AUTO_ACCEPT,
        TRANSIT_GATEWAY,
        {"autoAcceptSharedAttachments": "enable"},
        "violation",
        "enable",
    ),
    # ec2-vpc-block-public-access
    ("bpa-bidirectional", VPC_BLOCK, VPC_BPA, {"internetGatewayBlockMode": "block-bidirectional"}, "ok", ""),
    ("bpa-ingress", VPC_BLOCK, VPC_BPA, {"internetGatewayBlockMode": "block-ingress"}, "ok", ""),
    ("bpa-off", VPC_BLOCK, VPC_BPA, {"internetGatewayBlockMode": "off"}, "violation", "off"),
    # ec2-vpn-tunnel-logging
    ("vpn-logged", VPN_LOGS, VPN, VPN_PROPS, "ok", ""),
    (
        "vpn-tunnel2-unlogged",
        VPN_LOGS,
        VPN,
        but(VPN_PROPS, tunnel2LogOptions={"cloudwatchLogOptions": {"logEnabled": False}}),
        "violation",
        "does not log tunnel2",
    ),
    ("vpn-unlogged", VPN_LOGS, VPN, {"type": "ipsec.1"}, "violation", "tunnel1 and tunnel2"),
    # ec2-vpn-ikev2-only
    ("vpn-ikev2", IKEV2, VPN, VPN_PROPS, "ok", ""),
    (
        "vpn-ike-unset-and-both",
        IKEV2,
        VPN,
        but(VPN_PROPS, tunnel1IkeVersions=..., tunnel2IkeVersions=["ikev1", "ikev2"]),
        "violation",
        "tunnel1 (unset, so ikev1 and ikev2) and tunnel2 (ikev1, ikev2)",
    ),
    # ec2-client-vpn-connection-logging
    (
        "client-vpn-logged",
        CLIENT_VPN_LOGS,
        CLIENT_VPN,
        {"connectionLogOptions": {"enabled": True, "cloudwatchLogGroup": UNKNOWN}},
        "ok",
        "",
    ),
    (
        "client-vpn-unlogged",
        CLIENT_VPN_LOGS,
        CLIENT_VPN,
        {"connectionLogOptions": {"enabled": False}},
        "violation",
        "connectionLogOptions.enabled",
    ),
]

ACM_RESOURCE_CASES: list[ResourceCase] = [
    ("rsa-requested-default", RSA, CERTIFICATE, REQUESTED, "ok", ""),
    ("rsa-requested-ec", RSA, CERTIFICATE, {**REQUESTED, "keyAlgorithm": "EC_prime256v1"}, "ok", ""),
    (
        "rsa-requested-1024",
        RSA,
        CERTIFICATE,
        {**REQUESTED, "keyAlgorithm": "RSA_1024"},
        "violation",
        "1024-bit",
    ),
    ("rsa-imported-2048", RSA, CERTIFICATE, imported("rsa2048-long"), "ok", ""),
    ("rsa-imported-ec", RSA, CERTIFICATE, imported("ec-long"), "ok", ""),
    ("rsa-imported-1024", RSA, CERTIFICATE, imported("rsa1024-long"), "violation", "1024-bit RSA key"),
    (
        "rsa-imported-not-a-pem",
        RSA,
        CERTIFICATE,
        {"certificateBody": "MIIB...", "privateKey": UNKNOWN},
        "violation",
        "not a PEM certificate",
    ),
]


def requested(name: str, **props: Any) -> Res:
    return Res(CERTIFICATE, name, but(REQUESTED, **props))


def validated(certificate: str) -> list[Res]:
    """The Route 53 record and CertificateValidation paved declares for a DNS-validated certificate."""
    return [
        Res(
            RECORD,
            f"{certificate}-validation",
            {"name": UNKNOWN, "records": [UNKNOWN], "type": UNKNOWN, "zoneId": "Z0123456789ABCDEFGHIJ"},
            prop_deps={"name": [certificate], "records": [certificate], "type": [certificate]},
        ),
        Res(
            VALIDATION,
            f"{certificate}-issued",
            {"certificateArn": UNKNOWN, "validationRecordFqdns": [UNKNOWN]},
            prop_deps={
                "certificateArn": [certificate],
                "validationRecordFqdns": [f"{certificate}-validation"],
            },
        ),
    ]


def server(name: str = "server", in_subnet: str | None = None, **props: Any) -> Res:
    """An instance, launched into the stack's subnet named `in_subnet` if given."""
    return Res(INSTANCE, name, but(SERVER, **props), prop_deps={"subnetId": [in_subnet]} if in_subnet else {})


def subnet(rtype: str = SUBNET, **props: Any) -> Res:
    return Res(rtype, "subnet", {"vpcId": UNKNOWN, "cidrBlock": "10.0.0.0/24", **props})


def template(name: str = "template", **props: Any) -> Res:
    return Res(TEMPLATE, name, but(NODE_TEMPLATE, **props))


def from_template(name: str = "server", **props: Any) -> Res:
    """An instance launched from the launch template named 'template'."""
    props = {"launchTemplate": {"id": UNKNOWN, "version": "$Latest"}, **props}
    return Res(INSTANCE, name, props, prop_deps={"launchTemplate": ["template"]})


def attached(volume: str, instance: str = "server") -> Res:
    return Res(
        ATTACHMENT,
        f"{volume}-attachment",
        {"deviceName": "/dev/sdf", "volumeId": UNKNOWN, "instanceId": UNKNOWN},
        prop_deps={"volumeId": [volume], "instanceId": [instance]},
    )


STACK_CASES: list[StackCase] = [
    # ebs-attached-volumes-encrypted
    (
        "ebs-encrypted",
        ATTACHED,
        [server(), Res(VOLUME, "data", {"encrypted": True, "size": 100.0}), attached("data")],
        "ok",
        [],
    ),
    (
        "ebs-unencrypted-attached-and-root",
        ATTACHED,
        [
            server(rootBlockDevice=..., ebsBlockDevices=[{"deviceName": "/dev/sdb", "encrypted": True}]),
            Res(VOLUME, "data", {"size": 100.0}),
            attached("data"),
            # Not attached by the program: EC2.3 judges attached volumes only.
            Res(VOLUME, "spare", {"encrypted": False}),
        ],
        "violation",
        ["server", "data"],
    ),
    (
        "ebs-encryption-by-default-covers-unset-volumes",
        ATTACHED,
        [
            Res(BY_DEFAULT, "ebs-default", {}),
            server(rootBlockDevice=...),
            Res(VOLUME, "data", {"encrypted": False}),
            attached("data"),
        ],
        "ok",
        [],
    ),
    (
        "ebs-encryption-by-default-off-covers-nothing",
        ATTACHED,
        [Res(BY_DEFAULT, "ebs-default", {"enabled": False}), server(rootBlockDevice=...)],
        "violation",
        ["server"],
    ),
    ("ebs-unattached", ATTACHED, [Res(VOLUME, "spare", {"encrypted": False})], "n/a", []),
    # ec2-instance-imdsv2
    ("imds-required", IMDS, [server()], "ok", []),
    (
        "imds-optional-or-unset",
        IMDS,
        [
            server("optional", metadataOptions={"httpTokens": "optional"}),
            server("unset", metadataOptions=...),
            # The endpoint off is not enough for EC2.8: it judges httpTokens only.
            server("disabled", metadataOptions={"httpEndpoint": "disabled"}),
        ],
        "violation",
        ["optional", "unset", "disabled"],
    ),
    ("imds-from-template", IMDS, [template(), from_template()], "ok", []),
    (
        "imds-from-optional-template",
        IMDS,
        [template(metadataOptions={"httpTokens": "optional"}), from_template()],
        "violation",
        ["server"],
    ),
    (
        "imds-account-default",
        IMDS,
        [Res(METADATA_DEFAULTS, "imds", {"httpTokens": "required"}), server(metadataOptions=...)],
        "ok",
        [],
    ),
    (
        "imds-account-default-no-preference",
        IMDS,
        [Res(METADATA_DEFAULTS, "imds", {"httpTokens": "no-preference"}), server(metadataOptions=...)],
        "violation",
        ["server"],
    ),
    # ec2-instance-no-public-ip
    ("public-ip-off", PUBLIC_IP, [subnet(mapPublicIpOnLaunch=True), server(in_subnet="subnet")], "ok", []),
    (
        "public-ip-on-or-from-subnets",
        PUBLIC_IP,
        [
            server("assigned", associatePublicIpAddress=True),
            subnet(DEFAULT_SUBNET),
            server("in-default-subnet", "subnet", associatePublicIpAddress=...),
            server("in-default-vpc", associatePublicIpAddress=..., subnetId=...),
            server("in-foreign-subnet", associatePublicIpAddress=..., subnetId="subnet-0123456789abcdef0"),
        ],
        "violation",
        ["assigned", "in-default-subnet", "in-default-vpc", "in-foreign-subnet"],
    ),
    (
        "public-ip-private-subnet",
        PUBLIC_IP,
        [subnet(), server(in_subnet="subnet", associatePublicIpAddress=...)],
        "ok",
        [],
    ),
    (
        "public-ip-from-an-elastic-ip",
        PUBLIC_IP,
        [
            server("direct"),
            Res(EIP, "direct-ip", {"domain": "vpc", "instance": UNKNOWN}, prop_deps={"instance": ["direct"]}),
            Res(ENI, "eni", {"subnetId": UNKNOWN}),
            Res(
                INSTANCE,
                "through-eni",
                but(
                    SERVER,
                    associatePublicIpAddress=...,
                    subnetId=...,
                    primaryNetworkInterface={"networkInterfaceId": UNKNOWN},
                ),
                prop_deps={"primaryNetworkInterface": ["eni"]},
            ),
            Res(
                EIP_ASSOCIATION,
                "eni-ip",
                {"allocationId": "eipalloc-1", "networkInterfaceId": UNKNOWN},
                prop_deps={"networkInterfaceId": ["eni"]},
            ),
        ],
        "violation",
        ["direct", "through-eni"],
    ),
    (
        "public-ip-from-template",
        PUBLIC_IP,
        [
            template(networkInterfaces=[{"deviceIndex": 0.0, "associatePublicIpAddress": "true"}]),
            from_template(),
        ],
        "violation",
        ["server"],
    ),
    ("public-ip-template-private", PUBLIC_IP, [template(), from_template()], "ok", []),
    # ec2-instance-single-network-interface
    ("one-eni", ONE_ENI, [server()], "ok", []),
    (
        "several-enis",
        ONE_ENI,
        [
            server(
                "secondary",
                secondaryNetworkInterfaces=[{"networkCardIndex": 0.0, "secondarySubnetId": UNKNOWN}],
            ),
            server("attached"),
            Res(ENI, "extra", {"subnetId": UNKNOWN}),
            Res(
                ENI_ATTACHMENT,
                "extra-attachment",
                {"deviceIndex": 1.0, "instanceId": UNKNOWN, "networkInterfaceId": UNKNOWN},
                prop_deps={"instanceId": ["attached"], "networkInterfaceId": ["extra"]},
            ),
            template(networkInterfaces=[{"deviceIndex": 0.0}, {"deviceIndex": 1.0}]),
            from_template("templated"),
        ],
        "violation",
        ["secondary", "attached", "templated"],
    ),
    # ec2-instance-hvm
    ("hvm-current-type", HVM, [server()], "ok", []),
    (
        "hvm-declared-ami",
        HVM,
        [
            Res(AMI, "image", {"virtualizationType": "hvm", "rootDeviceName": "/dev/xvda"}),
            Res(
                INSTANCE,
                "on-hvm-ami",
                but(SERVER, ami=UNKNOWN, instanceType="m3.medium"),
                prop_deps={"ami": ["image"]},
            ),
        ],
        "ok",
        [],
    ),
    (
        "paravirtual-ami-or-type",
        HVM,
        [
            # pulumi-aws's Ami defaults virtualizationType to paravirtual.
            Res(AMI, "image", {"rootDeviceName": "/dev/sda1"}),
            Res(INSTANCE, "on-pv-ami", but(SERVER, ami=UNKNOWN), prop_deps={"ami": ["image"]}),
            server("pv-capable-type", instanceType="t1.micro"),
        ],
        "violation",
        ["on-pv-ami", "pv-capable-type"],
    ),
]

ACM_STACK_CASES: list[StackCase] = [
    ("renewal-dns-validated", RENEWAL, [requested("certificate"), *validated("certificate")], "ok", []),
    (
        "renewal-private-ca-and-imported",
        RENEWAL,
        [
            requested(
                "private", validationMethod=..., certificateAuthorityArn="arn:aws:acm-pca:eu-west-1:1:x"
            ),
            Res(CERTIFICATE, "imported", imported("rsa2048-long")),
        ],
        "ok",
        [],
    ),
    (
        "renewal-needs-people-or-expires",
        RENEWAL,
        [
            requested("email", validationMethod="EMAIL"),
            # Its records may be made by hand: nothing in the program shows them.
            requested("dns-elsewhere"),
            Res(CERTIFICATE, "expiring", imported("rsa2048-short")),
        ],
        "violation",
        ["email", "dns-elsewhere", "expiring"],
    ),
]

DEFERRALS: list[Deferral] = [
    (TEMPLATE_IMDS, TEMPLATE, but(NODE_TEMPLATE, metadataOptions=UNKNOWN_OBJECT_VALUE)),
    (AUTO_ACCEPT, TRANSIT_GATEWAY, {"autoAcceptSharedAttachments": UNKNOWN}),
    (SOURCE_DEST, INSTANCE, but(SERVER, sourceDestCheck=UNKNOWN_BOOLEAN_VALUE)),
    (IKEV2, VPN, but(VPN_PROPS, tunnel2IkeVersions=[UNKNOWN])),
]
ACM_DEFERRALS: list[Deferral] = [
    # An imported certificate's PEM from another resource (the tls provider) is unknown in a first preview.
    (RSA, CERTIFICATE, {"certificateBody": UNKNOWN, "privateKey": UNKNOWN}),
]
ACM_PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    (RSA, CERTIFICATE, {**REQUESTED, "domainName": UNKNOWN}, "ok"),
]
OTHER_TYPES: list[OtherType] = [
    (TEMPLATE_IMDS, NODE_GROUP),
    (TEMPLATE_IMDS, INSTANCE),
    (SOURCE_DEST, TEMPLATE),
]


def test_account_settings_count_only_in_their_own_region() -> None:
    specs = [Res(BY_DEFAULT, "ebs-default", {}), server(rootBlockDevice=...)]
    assert (
        run_stack(ATTACHED, specs, providers={"ebs-default": {"region": "eu-west-1"}}).status == "violation"
    )
    same = {"ebs-default": {"region": "eu-west-1"}, "server": {"region": "eu-west-1"}}
    assert run_stack(ATTACHED, specs, providers=same).status == "ok"
    # pulumi-aws 7's per-resource region moves the instance out of the setting's region.
    moved = [Res(BY_DEFAULT, "ebs-default", {}), server(rootBlockDevice=..., region="us-east-1")]
    assert run_stack(ATTACHED, moved, providers=same).status == "violation"
    # Another account (a role assumed by the provider) is not covered either.
    other_account = {
        **same,
        "ebs-default": {"region": "eu-west-1", "assumeRoles": '[{"roleArn":"arn:aws:iam::2:role/x"}]'},
    }
    assert run_stack(ATTACHED, specs, providers=other_account).status == "violation"


def test_an_unknown_region_defers_the_account_setting() -> None:
    with pytest.raises(UnknownValueError):
        run_stack(
            IMDS,
            [
                Res(METADATA_DEFAULTS, "imds", {"httpTokens": "required"}),
                server(metadataOptions=..., region=UNKNOWN),
            ],
        )


def test_the_certificate_reader_takes_what_acm_imports() -> None:
    rsa = parse_certificate(pem("rsa2048-long"))
    assert rsa is not None and rsa.key_algorithm == RSA_ENCRYPTION and rsa.rsa_bits == 2048
    # After 2049 X.509 writes GeneralizedTime, before it UTCTime: both are read.
    assert rsa.not_after.year > 2100
    short = parse_certificate(pem("rsa2048-short"))
    assert short is not None and short.not_after.year >= 2026
    ec = parse_certificate(pem("ec-long"))
    assert ec is not None and ec.rsa_bits is None
    # A chain: the first certificate is the one ACM imports as the body.
    chain = parse_certificate(pem("rsa1024-long") + pem("rsa2048-long"))
    assert chain is not None and chain.rsa_bits == 1024
    for junk in ("", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----", pem("ec-long")[:200]):
        assert parse_certificate(junk) is None


def test_renewal_window_follows_the_configured_days() -> None:
    cert = [Res(CERTIFICATE, "imported", imported("rsa2048-long"))]
    assert run_stack(RENEWAL, cert, config={RENEWAL: {"daysToExpiration": 365}}).status == "ok"
    # Out of ACM.1's range (14-365): the default applies.
    assert run_stack(RENEWAL, cert, config={RENEWAL: {"daysToExpiration": 100000}}).status == "ok"


FAMILY = Family(
    name="ec2",
    rules=ec2.RULES,
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "httpTokens",
        "associatePublicIpAddress",
        "encrypted",
        "sourceDestCheck",
        "region",
        "assumeRoles",
    ],
    fuzz_values=[
        "required",
        "optional",
        "true",
        "false",
        "True",
        "ikev1",
        "ikev2",
        "hvm",
        "paravirtual",
        *UNKNOWNS,
    ],
    fuzz_fixtures={
        SUBNET: [{"mapPublicIpOnLaunch": True}],
        METADATA_DEFAULTS: [{"httpTokens": "required"}],
        AMI: [{"virtualizationType": "hvm"}],
        ENI_ATTACHMENT: [{"deviceIndex": 1.0, "instanceId": UNKNOWN}],
    },
    stack_fuzz=[
        StackFuzzTarget(ATTACHED, VOLUME, ATTACHMENT, "volumeId"),
        StackFuzzTarget(IMDS, INSTANCE, TEMPLATE, "launchTemplate", forward=True),
        StackFuzzTarget(PUBLIC_IP, INSTANCE, SUBNET, "subnetId", forward=True),
        StackFuzzTarget(PUBLIC_IP, SPOT_INSTANCE, EIP, "instance", when_linked=frozenset({"violation"})),
        StackFuzzTarget(
            ONE_ENI, INSTANCE, ENI_ATTACHMENT, "instanceId", when_linked=frozenset({"violation"})
        ),
        StackFuzzTarget(HVM, INSTANCE, AMI, "ami", forward=True),
    ],
)
ACM_FAMILY = Family(
    name="acm",
    rules=acm.RULES,
    resource_cases=ACM_RESOURCE_CASES,
    stack_cases=ACM_STACK_CASES,
    deferrals=ACM_DEFERRALS,
    preview_unknowns=ACM_PREVIEW_UNKNOWNS,
    fuzz_keys=["certificateBody", "validationMethod", "keyAlgorithm", "daysToExpiration"],
    fuzz_values=["DNS", "EMAIL", "RSA_1024", "RSA_2048", "EC_prime256v1", pem("rsa1024-long"), *UNKNOWNS],
    fuzz_fixtures={VALIDATION: [{"certificateArn": UNKNOWN}]},
    stack_fuzz=[StackFuzzTarget(RENEWAL, CERTIFICATE, VALIDATION, "certificateArn")],
)
