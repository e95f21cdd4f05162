"""Type-shaped stand-ins for the outputs a preview cannot know yet.

During a first preview every ID and ARN is unknown, so nothing can be matched by value: a security group
rule's `referencedSecurityGroupId` is the same sentinel as every other unknown. paved's recorder knows which
resource output each unknown came from (its lineage), and replaces the unknown with the placeholder for that
output: `sg-0<token>` for a security group's id, `arn:aws:iam::<account>:role/<name>` for a role's ARN. Values
derived from an output by the program (an ARN's last segment, a URL around an endpoint) keep the resource's
token, so `origin_of` can still say where they came from.

Placeholders look like the real thing (prefixes, ARN shapes) so that the program's own string handling, the
IAM evaluation and the ARN-type lint treat them as AWS would treat real values. They are a model, never sent
to AWS.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TOKEN_LENGTH = 12
_HEX_RUN = re.compile(r"[0-9a-f]{12,}", re.IGNORECASE)


@dataclass(frozen=True)
class Origin:
    """The output of a resource that a value came from; `output` is None for a value derived from one."""

    urn: str
    output: str | None = None

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class AwsPlace:
    partition: str = "aws"
    region: str = "us-east-1"
    account: str = "123456789012"


def token_of(urn: str) -> str:
    return hashlib.sha256(urn.encode()).hexdigest()[:TOKEN_LENGTH]


def managed_prefix_list_id(region: str, name: str) -> str:
    """The id a preview gives an AWS-managed prefix list looked up by name (the recorder's invoke answer)."""
    return "pl-" + hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:17]


def _type_key(type_: str) -> str:
    """`aws:ec2/securityGroup:SecurityGroup` -> `ec2/securityGroup`."""
    parts = type_.split(":")
    return parts[1] if len(parts) == 3 else type_


# IDs the EC2 API gives out: prefix + 17 hex digits.
_EC2_ID_PREFIXES = {
    "ec2/securityGroup": "sg-",
    "ec2/defaultSecurityGroup": "sg-",
    "ec2/vpc": "vpc-",
    "ec2/subnet": "subnet-",
    "ec2/routeTable": "rtb-",
    "ec2/internetGateway": "igw-",
    "ec2/natGateway": "nat-",
    "ec2/vpcEndpoint": "vpce-",
    "ec2/launchTemplate": "lt-",
    "ec2/eip": "eipalloc-",
    "ec2/networkAcl": "acl-",
    "ec2/defaultNetworkAcl": "acl-",
    "ec2/flowLog": "fl-",
    "ec2/routeTableAssociation": "rtbassoc-",
    "ec2/managedPrefixList": "pl-",
    "vpc/securityGroupIngressRule": "sgr-",
    "vpc/securityGroupEgressRule": "sgr-",
}

# Types whose Pulumi `id` is their ARN.
_ID_IS_ARN = {
    "secretsmanager/secret",
    "sns/topic",
    "lb/loadBalancer",
    "lb/targetGroup",
    "lb/listener",
    "lb/listenerRule",
    "acm/certificate",
    "iam/openIdConnectProvider",
    "iam/policy",
    "sfn/stateMachine",
}


def _name(inputs: Mapping[str, Any], logical: str, token: str, key: str = "name") -> str:
    given = inputs.get(key)
    return given if isinstance(given, str) and given else f"{logical}-{token}"


def _uuid(token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{token}"


def _event_rule(inputs: Mapping[str, Any], name: str) -> str:
    """`rule/<name>` on the default bus, `rule/<bus>/<name>` on another (eventBusName is a name or an ARN)."""
    bus = str(inputs.get("eventBusName") or "default").rsplit("/", 1)[-1]
    return f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"


ArnMaker = Callable[[AwsPlace, Mapping[str, Any], str, str], str]


def _arn(service: str, resource: str, place: AwsPlace, *, regional: bool = True, account: bool = True) -> str:
    region = place.region if regional else ""
    owner = place.account if account else ""
    return f"arn:{place.partition}:{service}:{region}:{owner}:{resource}"


# (place, resolved inputs, logical name, token) -> ARN, in the format of each service's ARN documentation
# (Service Authorization Reference, "Resource types defined by <service>").
_ARNS: dict[str, ArnMaker] = {
    "iam/role": lambda p, i, n, t: _arn(
        "iam", f"role{i.get('path') or '/'}{_name(i, n, t)}", p, regional=False
    ),
    "iam/policy": lambda p, i, n, t: _arn(
        "iam", f"policy{i.get('path') or '/'}{_name(i, n, t)}", p, regional=False
    ),
    "iam/openIdConnectProvider": lambda p, i, n, t: _arn(
        "iam",
        "oidc-provider/"
        + str(i.get("url") or f"oidc.eks.{p.region}.amazonaws.com/id/{t.upper()}").removeprefix("https://"),
        p,
        regional=False,
    ),
    "kms/key": lambda p, i, n, t: _arn("kms", f"key/{_uuid(t)}", p),
    "kms/alias": lambda p, i, n, t: _arn("kms", _name(i, n, t), p),
    "secretsmanager/secret": lambda p, i, n, t: _arn("secretsmanager", f"secret:{_name(i, n, t)}-{t[:6]}", p),
    "sns/topic": lambda p, i, n, t: _arn("sns", _name(i, n, t), p),
    "sqs/queue": lambda p, i, n, t: _arn("sqs", _name(i, n, t), p),
    "s3/bucket": lambda p, i, n, t: _arn("s3", _name(i, n, t, "bucket"), p, regional=False, account=False),
    "s3/bucketV2": lambda p, i, n, t: _arn("s3", _name(i, n, t, "bucket"), p, regional=False, account=False),
    "cloudwatch/logGroup": lambda p, i, n, t: _arn("logs", f"log-group:{_name(i, n, t)}", p),
    "cloudwatch/logDeliverySource": lambda p, i, n, t: _arn("logs", f"delivery-source:{_name(i, n, t)}", p),
    "cloudwatch/logDeliveryDestination": lambda p, i, n, t: _arn(
        "logs", f"delivery-destination:{_name(i, n, t)}", p
    ),
    "cloudwatch/metricAlarm": lambda p, i, n, t: _arn("cloudwatch", f"alarm:{_name(i, n, t)}", p),
    "cloudwatch/eventRule": lambda p, i, n, t: _arn("events", _event_rule(i, _name(i, n, t)), p),
    "rds/instance": lambda p, i, n, t: _arn("rds", f"db:{_name(i, n, t, 'identifier')}", p),
    "rds/proxy": lambda p, i, n, t: _arn("rds", f"db-proxy:prx-{t}{t[:5]}", p),
    "rds/parameterGroup": lambda p, i, n, t: _arn("rds", f"pg:{_name(i, n, t)}", p),
    "rds/subnetGroup": lambda p, i, n, t: _arn("rds", f"subgrp:{_name(i, n, t)}", p),
    "elasticache/replicationGroup": lambda p, i, n, t: _arn(
        "elasticache", f"replicationgroup:{_name(i, n, t, 'replicationGroupId')}", p
    ),
    "eks/cluster": lambda p, i, n, t: _arn("eks", f"cluster/{_name(i, n, t)}", p),
    "eks/nodeGroup": lambda p, i, n, t: _arn(
        "eks", f"nodegroup/cluster/{_name(i, n, t, 'nodeGroupName')}/{_uuid(t)}", p
    ),
    "lb/loadBalancer": lambda p, i, n, t: _arn(
        "elasticloadbalancing", f"loadbalancer/app/{_name(i, n, t)[:32]}/{t}{t[:4]}", p
    ),
    "lb/targetGroup": lambda p, i, n, t: _arn(
        "elasticloadbalancing", f"targetgroup/{_name(i, n, t)[:32]}/{t}{t[:4]}", p
    ),
    "lb/listener": lambda p, i, n, t: _arn("elasticloadbalancing", f"listener/app/{n}/{t}/{t}{t[:4]}", p),
    "lb/listenerRule": lambda p, i, n, t: _arn(
        "elasticloadbalancing", f"listener-rule/app/{n}/{t}/{t}/{t}{t[:4]}", p
    ),
    "acm/certificate": lambda p, i, n, t: _arn("acm", f"certificate/{_uuid(t)}", p),
    # A CloudFront-scope ACL lives in us-east-1 (its provider's region) under `global/`.
    "wafv2/webAcl": lambda p, i, n, t: _arn(
        "wafv2",
        f"{'global' if i.get('scope') == 'CLOUDFRONT' else 'regional'}/webacl/{_name(i, n, t)}/{_uuid(t)}",
        p,
    ),
    "backup/vault": lambda p, i, n, t: _arn("backup", f"backup-vault:{_name(i, n, t)}", p),
    "backup/plan": lambda p, i, n, t: _arn("backup", f"backup-plan:{_uuid(t)}", p),
    "cloudfront/distribution": lambda p, i, n, t: _arn(
        "cloudfront", f"distribution/E{t.upper()}", p, regional=False
    ),
    "ec2/vpc": lambda p, i, n, t: _arn("ec2", f"vpc/vpc-0{t}{t[:4]}", p),
    "ec2/subnet": lambda p, i, n, t: _arn("ec2", f"subnet/subnet-0{t}{t[:4]}", p),
    "ec2/securityGroup": lambda p, i, n, t: _arn("ec2", f"security-group/sg-0{t}{t[:4]}", p),
    "ec2/launchTemplate": lambda p, i, n, t: _arn("ec2", f"launch-template/lt-0{t}{t[:4]}", p),
}


def _eks_cluster(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    issuer = f"https://oidc.eks.{place.region}.amazonaws.com/id/{token.upper()}{token[:8].upper()}"
    return {
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-0{token}{token[:4]}",
            "vpcId": f"vpc-0{token}{token[:4]}",
        },
        "identities": [{"oidcs": [{"issuer": issuer}]}],
        "certificateAuthority": {"data": f"LS0t{token}"},
        "endpoint": f"https://{token.upper()}.gr7.{place.region}.eks.amazonaws.com",
        "clusterId": _uuid(token),
    }


def _rds_instance(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    identifier = _name(inputs, logical, token, "identifier")
    host = f"{identifier}.c{token}.{place.region}.rds.amazonaws.com"
    return {
        "resourceId": f"db-{token.upper()}{token[:8].upper()}",
        "address": host,
        "endpoint": f"{host}:5432",
    }


def _rds_proxy(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    name = _name(inputs, logical, token)
    return {"endpoint": f"{name}.proxy-c{token}.{place.region}.rds.amazonaws.com"}


def _replication_group(
    place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str
) -> dict[str, Any]:
    group = _name(inputs, logical, token, "replicationGroupId")
    return {
        "primaryEndpointAddress": f"master.{group}.{token[:6]}.euw1.cache.amazonaws.com",
        "readerEndpointAddress": f"replica.{group}.{token[:6]}.euw1.cache.amazonaws.com",
    }


def _load_balancer(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    name = _name(inputs, logical, token)[:32]
    return {
        "dnsName": f"{name}-{token}.{place.region}.elb.amazonaws.com",
        "arnSuffix": f"app/{name}/{token}{token[:4]}",
        "zoneId": "Z32O12XQLNTSW2",
    }


def _distribution(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    return {"domainName": f"d{token}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}


def _certificate(place: AwsPlace, inputs: Mapping[str, Any], logical: str, token: str) -> dict[str, Any]:
    # One validation CNAME per distinct name; a wildcard shares its apex's record.
    # https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
    names = [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]
    return {
        "domainValidationOptions": [
            {
                "domainName": name,
                "resourceRecordName": f"_{token}.{str(name).removeprefix('*.')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{token}.acm-validations.aws.",
            }
            for name in names
            if isinstance(name, str)
        ]
    }


_STRUCTURED: dict[str, Callable[[AwsPlace, Mapping[str, Any], str, str], dict[str, Any]]] = {
    "eks/cluster": _eks_cluster,
    "rds/instance": _rds_instance,
    "rds/proxy": _rds_proxy,
    "elasticache/replicationGroup": _replication_group,
    "lb/loadBalancer": _load_balancer,
    "cloudfront/distribution": _distribution,
    "acm/certificate": _certificate,
}


def placeholder(urn: str, type_: str, output: str, inputs: Mapping[str, Any], place: AwsPlace) -> Any:
    """The stand-in for `output` of the resource `urn` (engine camelCase names; `inputs` resolved so far)."""
    key = _type_key(type_)
    token = token_of(urn)
    logical = urn.rsplit("::", 1)[-1]
    structured = _STRUCTURED.get(key)
    if structured is not None:
        values = structured(place, inputs, logical, token)
        if output in values:
            return values[output]
    if output == "arn" and key in _ARNS:
        return _ARNS[key](place, inputs, logical, token)
    if output == "id":
        if key in _EC2_ID_PREFIXES:
            return f"{_EC2_ID_PREFIXES[key]}0{token}{token[:4]}"
        if key in _ID_IS_ARN and key in _ARNS:
            return _ARNS[key](place, inputs, logical, token)
        if key == "kms/key":
            return _uuid(token)
        if key == "backup/plan":
            return _uuid(token)
        for name_key in ("name", "bucket", "identifier", "replicationGroupId", "nodeGroupName"):
            if isinstance(inputs.get(name_key), str) and inputs[name_key]:
                return inputs[name_key]
        return f"{logical}-{token}"
    if output == "keyId" and key == "kms/key":
        return _uuid(token)
    if output in {"name", "bucket", "identifier"}:
        return _name(inputs, logical, token, output)
    return f"{output}-{token}"


def origin_of(value: Any, registry: Mapping[str, Origin], tokens: Mapping[str, str]) -> Origin | None:
    """Where a resolved value came from: an exact placeholder, or a string carrying a resource token."""
    if not isinstance(value, str):
        return None
    exact = registry.get(value)
    if exact is not None:
        return exact
    # Tokens sit inside longer hex runs (`sg-0<token><4 more>`), so every window of a run is a candidate.
    for run in _HEX_RUN.finditer(value):
        text = run.group(0).lower()
        for start in range(len(text) - TOKEN_LENGTH + 1):
            urn = tokens.get(text[start : start + TOKEN_LENGTH])
            if urn is not None:
                return Origin(urn, None)
    return None
