"""IAM evaluation of the wiring proof: the pure evaluator rule by rule, then the model on synthetic snapshots
shaped like paved's (RolePolicy documents naming placeholder ARNs), with mutations that break each hop."""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from paved_policies.wiring.identity import (
    OUTSIDER_ACCOUNT,
    Caller,
    IdentityModel,
    evaluate,
    managed_policies,
)
from paved_policies.wiring.placeholders import AwsPlace
from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot
from paved_policies.wiring.verdicts import Verdict

from components.cluster import _ADDON_IDENTITIES as ADDON_IDENTITIES
from paved.recorder import Recording

ACCOUNT = AwsPlace.account
REGION = "eu-west-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/app/api/JWT_SECRET-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA_SECRETS_MANAGER = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# -- the evaluator, rule by rule ---------------------------------------------------------------------------


def read_secret(statements: list[dict[str, Any]]):
    return evaluate(statements, "secretsmanager:GetSecretValue", SECRET, {}, label="RolePolicy app")


def test_an_allow_proves_and_names_its_statement():
    finding = read_secret([allow("secretsmanager:GetSecretValue", SECRET, Sid="Read")])
    assert finding.verdict is Verdict.PROVEN
    assert "RolePolicy app statement Read" in finding.hops[0].text


def test_no_allow_is_an_implicit_deny_naming_the_action():
    finding = read_secret([allow("secretsmanager:DescribeSecret", SECRET)])
    assert finding.verdict is Verdict.BROKEN
    assert "no statement of RolePolicy app allows secretsmanager:GetSecretValue" in finding.reason


def test_explicit_deny_wins_over_an_allow():
    finding = evaluate(
        [allow("s3:*"), deny("s3:DeleteObject", Sid="NoDelete")], "s3:DeleteObject", "arn:aws:s3:::b/k", {}
    )
    assert finding.verdict is Verdict.BROKEN
    assert "statement NoDelete explicitly denies s3:DeleteObject" in finding.reason
    assert evaluate([allow("s3:*"), deny("s3:DeleteObject")], "s3:GetObject", "arn:aws:s3:::b/k", {}).proven


@pytest.mark.parametrize(
    ("pattern", "action", "proven"),
    [
        ("kms:Decrypt*", "kms:Decrypt", True),
        ("KMS:decrypt", "kms:Decrypt", True),  # action names are case-insensitive
        ("kms:Describe?ey", "kms:DescribeKey", True),
        ("kms:Encrypt*", "kms:Decrypt", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, proven: bool):
    assert evaluate([allow(pattern, KEY)], action, KEY, {}).proven is proven


def test_not_action_allows_everything_else():
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    assert evaluate(statements, "s3:GetObject", "arn:aws:s3:::b/k", {}).proven
    assert evaluate(statements, "iam:CreateRole", "*", {}).verdict is Verdict.BROKEN


@pytest.mark.parametrize(
    ("pattern", "resource", "proven"),
    [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a", False),
        (f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:prod/app/api/*", SECRET, True),
        (f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:prod/app/web/*", SECRET, False),
        # A wildcard stays inside its ARN part: `*` in the region cannot eat the account.
        ("arn:aws:secretsmanager:*:secret:prod/app/api/*", SECRET, False),
        ("*", SECRET, True),
    ],
)
def test_resource_wildcards_match_arn_part_by_part(pattern: str, resource: str, proven: bool):
    assert (
        evaluate(
            [allow("secretsmanager:GetSecretValue", pattern)], "secretsmanager:GetSecretValue", resource, {}
        ).proven
        is proven
    )


def test_resource_mismatch_names_the_resource():
    other = SECRET.replace("api", "web")
    finding = read_secret([allow("secretsmanager:GetSecretValue", other)])
    assert finding.verdict is Verdict.BROKEN
    assert f"not on {SECRET}" in finding.reason


def test_not_resource():
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]
    assert evaluate(statements, "s3:GetObject", "arn:aws:s3:::public/x", {}).proven
    assert not evaluate(statements, "s3:GetObject", "arn:aws:s3:::secret/x", {}).proven


def _conditioned(condition: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [allow("kms:Decrypt", KEY, Condition=condition)]


@pytest.mark.parametrize(
    ("condition", "context", "verdict"),
    [
        (
            {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.PROVEN,
        ),
        (
            {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.BROKEN,
        ),
        # condition keys are case-insensitive
        (
            {"StringEquals": {"KMS:viaservice": "secretsmanager.eu-west-1.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.PROVEN,
        ),
        (
            {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.PROVEN,
        ),
        ({"StringNotLike": {"kms:ViaService": "secretsmanager.*"}}, VIA_SECRETS_MANAGER, Verdict.BROKEN),
        (
            {"StringNotEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.PROVEN,
        ),
        (
            {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT}:*"}},
            {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:x"},
            Verdict.PROVEN,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT}:*"}},
            {"aws:SourceArn": f"arn:aws:logs:{REGION}:{OUTSIDER_ACCOUNT}:log-group:x"},
            Verdict.BROKEN,
        ),
        (
            {"Bool": {"kms:GrantIsForAWSResource": True}},
            {"kms:GrantIsForAWSResource": "true"},
            Verdict.PROVEN,
        ),
        (
            {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            {"kms:GrantIsForAWSResource": "false"},
            Verdict.BROKEN,
        ),
        # a key the request context lacks: the model cannot know
        (
            {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
            {},
            Verdict.CONDITIONAL,
        ),
        # ...unless IfExists or Null decide
        ({"StringEqualsIfExists": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}, {}, Verdict.PROVEN),
        (
            {"StringEqualsIfExists": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            VIA_SECRETS_MANAGER,
            Verdict.BROKEN,
        ),
        ({"Null": {"kms:ViaService": "true"}}, {}, Verdict.PROVEN),
        ({"Null": {"kms:ViaService": "false"}}, {}, Verdict.BROKEN),
        ({"Null": {"kms:ViaService": "false"}}, VIA_SECRETS_MANAGER, Verdict.PROVEN),
        # several values of one key: any of them
        (
            {
                "StringEquals": {
                    "kms:ViaService": ["s3.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"]
                }
            },
            VIA_SECRETS_MANAGER,
            Verdict.PROVEN,
        ),
        # several keys: all of them
        (
            {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
                    "kms:CallerAccount": ACCOUNT,
                }
            },
            {**VIA_SECRETS_MANAGER, "kms:CallerAccount": "1"},
            Verdict.BROKEN,
        ),
        (
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}},
            {"aws:TagKeys": ["env", "owner"]},
            Verdict.PROVEN,
        ),
        (
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}},
            {"aws:TagKeys": ["env", "owner"]},
            Verdict.BROKEN,
        ),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
            {"aws:TagKeys": ["env", "team"]},
            Verdict.PROVEN,
        ),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
            {"aws:TagKeys": ["env", "owner"]},
            Verdict.BROKEN,
        ),
        (
            {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            {"aws:MultiFactorAuthAge": "10"},
            Verdict.CONDITIONAL,
        ),
        # policy variables are out of the model's scope
        (
            {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}},
            {"aws:PrincipalTag/team": "x"},
            Verdict.CONDITIONAL,
        ),
    ],
)
def test_conditions(condition: Mapping[str, Any], context: Mapping[str, Any], verdict: Verdict):
    assert evaluate(_conditioned(condition), "kms:Decrypt", KEY, context).verdict is verdict


def test_an_unmet_condition_is_named_with_what_the_request_had():
    finding = evaluate(
        _conditioned({"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}),
        "kms:Decrypt",
        KEY,
        VIA_SECRETS_MANAGER,
    )
    assert "only when StringEquals kms:ViaService = s3.eu-west-1.amazonaws.com" in finding.reason
    assert "(the request has secretsmanager.eu-west-1.amazonaws.com)" in finding.reason


def test_unknown_values_are_unresolved_never_guessed():
    unknown_resource = [allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{UNKNOWN}")]
    assert (
        evaluate(unknown_resource, "secretsmanager:GetSecretValue", SECRET, {}).verdict is Verdict.UNRESOLVED
    )
    # ...but an unknown resource cannot make a statement for another action apply
    assert evaluate(unknown_resource, "kms:Decrypt", KEY, {}).verdict is Verdict.BROKEN
    unknown_condition = _conditioned({"StringEquals": {"kms:ViaService": UNKNOWN}})
    assert evaluate(unknown_condition, "kms:Decrypt", KEY, VIA_SECRETS_MANAGER).verdict is Verdict.UNRESOLVED


def test_a_doubtful_deny_keeps_an_allow_from_being_proven():
    statements = [allow("kms:*"), deny("kms:Decrypt", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})]
    assert evaluate(statements, "kms:Decrypt", KEY, {}).verdict is Verdict.CONDITIONAL


@pytest.mark.parametrize(
    ("principal", "caller", "proven"),
    [
        (
            {"AWS": "arn:aws:iam::123456789012:role/app"},
            Caller(arn="arn:aws:iam::123456789012:role/app"),
            True,
        ),
        (
            {"AWS": "arn:aws:iam::123456789012:role/other"},
            Caller(arn="arn:aws:iam::123456789012:role/app"),
            False,
        ),
        ({"AWS": ROOT}, Caller(arn="arn:aws:iam::123456789012:role/app", account=ACCOUNT), True),
        ({"AWS": ACCOUNT}, Caller(arn="arn:aws:iam::123456789012:role/app", account=ACCOUNT), True),
        ({"AWS": ROOT}, Caller(arn="arn:aws:iam::999999999999:role/app", account="999999999999"), False),
        ("*", Caller(service="logs.eu-west-1.amazonaws.com"), True),
        ({"Service": "logs.eu-west-1.amazonaws.com"}, Caller(service="logs.eu-west-1.amazonaws.com"), True),
        ({"Service": "logs.eu-west-1.amazonaws.com"}, Caller(service="cloudwatch.amazonaws.com"), False),
    ],
)
def test_principals_of_resource_policies(principal: Any, caller: Caller, proven: bool):
    statements = [allow("kms:Decrypt", "*", Principal=principal)]
    assert evaluate(statements, "kms:Decrypt", KEY, {}, caller=caller).proven is proven


def test_not_principal_denies_everyone_but_the_named_role():
    app = "arn:aws:iam::123456789012:role/app"
    statements = [
        allow("kms:Decrypt", "*", Principal="*"),
        {"Effect": "Deny", "NotPrincipal": {"AWS": app}, "Action": "kms:*", "Resource": "*"},
    ]
    assert evaluate(statements, "kms:Decrypt", KEY, {}, caller=Caller(arn=app)).proven
    other = evaluate(statements, "kms:Decrypt", KEY, {}, caller=Caller(arn=app.replace("app", "other")))
    assert other.verdict is Verdict.BROKEN and "explicitly denies" in other.reason


# -- the model on a synthetic stack ------------------------------------------------------------------------

ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF"


def _urn(type_: str, logical: str) -> str:
    return f"urn:pulumi:prod::paved::{type_}::{logical}"


def _res(type_: str, logical: str, **inputs: Any) -> Resource:
    return Resource(_urn(type_, logical), type_, logical, inputs=inputs)


def _doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class Stack:
    """A small stack shaped like paved's: two apps with IRSA roles and their secrets, the secrets key, a
    node role with managed policies, an addon role for Pod Identity, the logs key and a bucket."""

    def __init__(self, mutate: Callable[["Stack"], object] | None = None) -> None:
        self.api_role = _res("aws:iam/role:Role", "app-api", name="prod-app-api")
        self.web_role = _res("aws:iam/role:Role", "app-web", name="prod-app-web")
        self.node_role = _res("aws:iam/role:Role", "cluster-nodes")
        self.csi_role = _res("aws:iam/role:Role", "cluster-aws-ebs-csi-driver")
        self.api_secret = _res("aws:secretsmanager/secret:Secret", "api-JWT_SECRET", name="prod/app/api/JWT")
        self.web_secret = _res("aws:secretsmanager/secret:Secret", "web-KEY", name="prod/app/web/KEY")
        self.secrets_key = _res("aws:kms/key:Key", "secrets")
        self.logs_key = _res("aws:kms/key:Key", "logs")
        self.bucket = _res("aws:s3/bucket:Bucket", "alb-logs")
        self.provider = _res(
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
            "cluster-oidc",
            url=f"https://{ISSUER}",
            clientIdLists=["sts.amazonaws.com"],
        )
        self.cluster = _res("aws:eks/cluster:Cluster", "cluster", name="prod")
        base = [
            self.api_role,
            self.web_role,
            self.node_role,
            self.csi_role,
            self.api_secret,
            self.web_secret,
            self.secrets_key,
            self.logs_key,
            self.bucket,
            self.provider,
            self.cluster,
        ]
        self.snapshot = Snapshot.build(base, place=AwsPlace(region=REGION))
        out = self.snapshot.output
        self.api_secret_arn = out(self.api_secret, "arn")
        self.web_secret_arn = out(self.web_secret, "arn")
        self.key_arn = out(self.secrets_key, "arn")
        self.bucket_arn = out(self.bucket, "arn")
        self.api_policy = [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [self.api_secret_arn],
            },
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": self.key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
            },
        ]
        self.web_policy = [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": self.web_secret_arn}
        ]
        self.key_policy = [
            {
                "Sid": "AccountAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        self.logs_key_policy = [
            *self.key_policy,
            {
                "Sid": "ServiceUse",
                "Effect": "Allow",
                "Principal": {"Service": [f"logs.{REGION}.amazonaws.com"]},
                "Action": ["kms:Decrypt*", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"}
                },
            },
        ]
        self.bucket_policy = [
            {
                "Sid": "AllowSSLRequestsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.bucket_arn, f"{self.bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "AllowAlbLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{self.bucket_arn}/AWSLogs/{ACCOUNT}/*",
            },
        ]
        self.secret_policy = [
            {
                "Sid": "DenyOutsideAccount",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:*",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:PrincipalAccount": ACCOUNT},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            }
        ]
        self.irsa_trust = {
            "Effect": "Allow",
            "Principal": {"Federated": out(self.provider, "arn")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:app:api",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        }
        self.pod_identity_trust = {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": ACCOUNT,
                    "aws:RequestTag/eks-cluster-name": "prod",
                    "aws:RequestTag/kubernetes-namespace": "kube-system",
                    "aws:RequestTag/kubernetes-service-account": "ebs-csi-controller-sa",
                }
            },
        }
        self.node_trust = {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
        self.node_policies = [
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        ]
        self.service_account_annotation = out(self.api_role, "arn")
        self.association_role = out(self.csi_role, "arn")
        if mutate:
            mutate(self)
        self._add_documents()
        self.model = IdentityModel.from_snapshot(self.snapshot)

    def _add_documents(self) -> None:
        snapshot, out = self.snapshot, self.snapshot.output
        self.api_role.inputs["assumeRolePolicy"] = _doc(self.irsa_trust)
        self.csi_role.inputs["assumeRolePolicy"] = _doc(self.pod_identity_trust)
        self.node_role.inputs["assumeRolePolicy"] = _doc(self.node_trust)
        self.secrets_key.inputs["policy"] = _doc(*self.key_policy)
        self.logs_key.inputs["policy"] = _doc(*self.logs_key_policy)
        for secret in (self.api_secret, self.web_secret):
            secret.inputs["policy"] = _doc(*self.secret_policy)
        added = [
            *(
                _res("aws:iam/rolePolicy:RolePolicy", role.name, role=out(role, "id"), policy=_doc(*policy))
                for role, policy in ((self.api_role, self.api_policy), (self.web_role, self.web_policy))
            ),
            *(
                _res(
                    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    f"cluster-nodes-managed-{i}",
                    role=out(self.node_role, "name"),
                    policyArn=arn,
                )
                for i, arn in enumerate(self.node_policies)
            ),
            _res(
                "aws:s3/bucketPolicy:BucketPolicy",
                "alb-logs",
                bucket=out(self.bucket, "id"),
                policy=_doc(*self.bucket_policy),
            ),
            _res(
                "kubernetes:core/v1:ServiceAccount",
                "api",
                metadata={
                    "name": "api",
                    "namespace": "app",
                    "annotations": {"eks.amazonaws.com/role-arn": self.service_account_annotation},
                },
            ),
            _res(
                "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                "aws-ebs-csi-driver",
                clusterName=out(self.cluster, "name"),
                namespace="kube-system",
                serviceAccount="ebs-csi-controller-sa",
                roleArn=self.association_role,
            ),
        ]
        snapshot.resources.update({r.urn: r for r in added})

    def read_secret(self, role: Resource, secret_arn: str):
        return self.model.allowed(role.urn, "secretsmanager:GetSecretValue", secret_arn)

    def decrypt(self, context: Mapping[str, str] = VIA_SECRETS_MANAGER, role: Resource | None = None):
        return self.model.allowed((role or self.api_role).urn, "kms:Decrypt", self.key_arn, context)


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack()


def test_app_role_reads_its_secret_through_its_role_policy(stack: Stack):
    finding = stack.read_secret(stack.api_role, stack.api_secret_arn)
    assert finding.verdict is Verdict.PROVEN
    assert finding.hops[0].kind == "iam"
    assert finding.hops[0].urn == _urn("aws:iam/rolePolicy:RolePolicy", "app-api")
    assert finding.hops[0].property == "policy"


def test_mutation_dropping_the_secret_statement_names_the_role_and_action():
    broken = Stack(lambda s: s.api_policy.pop(0)).read_secret(Stack().api_role, Stack().api_secret_arn)
    assert broken.verdict is Verdict.BROKEN
    assert "role app-api: no identity policy allows secretsmanager:GetSecretValue on" in broken.reason


def test_app_a_role_cannot_read_app_b_secrets(stack: Stack):
    finding = stack.read_secret(stack.web_role, stack.api_secret_arn)
    assert finding.verdict is Verdict.BROKEN
    assert "nearest is RolePolicy app-web statement 1 (app-web.policy), which not on" in finding.reason


def test_kms_decrypt_needs_the_key_policy_delegation_and_iam(stack: Stack):
    finding = stack.decrypt()
    assert finding.verdict is Verdict.PROVEN
    assert [hop.kind for hop in finding.hops] == ["key-policy", "iam"]
    assert "statement AccountAdministration" in finding.hops[0].text


def test_mutation_changing_the_via_service_condition_names_the_condition():
    def via_s3(stack: Stack) -> None:
        stack.api_policy[1]["Condition"]["StringEquals"]["kms:ViaService"] = "s3.eu-west-1.amazonaws.com"

    broken = Stack(via_s3).decrypt()
    assert broken.verdict is Verdict.BROKEN
    assert "RolePolicy app-api statement 2" in broken.reason
    assert "only when StringEquals kms:ViaService = s3.eu-west-1.amazonaws.com" in broken.reason


def test_decrypt_outside_secrets_manager_is_refused_and_unknown_service_is_conditional(stack: Stack):
    assert stack.decrypt({"kms:ViaService": f"s3.{REGION}.amazonaws.com"}).verdict is Verdict.BROKEN
    assert stack.decrypt({}).verdict is Verdict.CONDITIONAL


def test_mutation_dropping_the_key_policy_grant_names_the_key_policy():
    broken = Stack(lambda s: s.key_policy.clear()).decrypt()
    assert broken.verdict is Verdict.BROKEN
    assert "key policy of secrets (secrets.policy) neither grants role app-api kms:Decrypt" in broken.reason
    assert f"nor delegates it to the account ({ROOT})" in broken.reason


def test_a_key_policy_naming_the_role_needs_no_iam_policy():
    def grant_directly(stack: Stack) -> None:
        stack.key_policy[:] = [
            {
                "Effect": "Allow",
                "Principal": {"AWS": stack.snapshot.output(stack.web_role, "arn")},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        ]

    changed = Stack(grant_directly)
    assert changed.decrypt(role=changed.web_role).verdict is Verdict.PROVEN
    assert changed.decrypt(role=changed.api_role).verdict is Verdict.BROKEN  # IAM alone is not enough


def test_a_key_without_policy_gets_the_default_account_statement():
    def no_policy(stack: Stack) -> None:
        stack.key_policy.clear()

    changed = Stack(no_policy)
    changed.secrets_key.inputs.pop("policy")
    model = IdentityModel.from_snapshot(changed.snapshot)
    assert model.allowed(changed.api_role.urn, "kms:Decrypt", changed.key_arn, VIA_SECRETS_MANAGER).proven


def test_same_account_resource_policy_naming_the_role_is_enough_but_the_account_is_not():
    def open_to(principal: Callable[[Stack], str]) -> Callable[[Stack], None]:
        def mutate(stack: Stack) -> None:
            stack.web_policy.clear()
            stack.secret_policy.append(
                {
                    "Sid": "Grant",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal(stack)},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            )

        return mutate

    to_role = Stack(open_to(lambda s: s.snapshot.output(s.web_role, "arn")))
    finding = to_role.read_secret(to_role.web_role, to_role.api_secret_arn)
    assert finding.verdict is Verdict.PROVEN and finding.hops[0].kind == "resource-policy"
    to_account = Stack(open_to(lambda s: ROOT))
    assert to_account.read_secret(to_account.web_role, to_account.api_secret_arn).verdict is Verdict.BROKEN


def test_a_resource_policy_deny_wins_for_the_role():
    def deny_all(stack: Stack) -> None:
        stack.secret_policy.append(
            {
                "Sid": "Freeze",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:*",
                "Resource": "*",
            }
        )

    broken = Stack(deny_all)
    finding = broken.read_secret(broken.api_role, broken.api_secret_arn)
    assert finding.verdict is Verdict.BROKEN
    assert (
        "resource policy of api-JWT_SECRET statement Freeze (api-JWT_SECRET.policy) explicitly denies"
        in finding.reason
    )


def test_unknown_policy_documents_are_unresolved():
    def unknown(stack: Stack) -> None:
        stack.api_policy[0]["Resource"] = [UNKNOWN]

    finding = Stack(unknown).read_secret(Stack().api_role, Stack().api_secret_arn)
    assert finding.verdict is Verdict.UNRESOLVED
    changed = Stack()
    changed.snapshot.resources[
        changed.api_role.urn.replace("iam/role:Role", "iam/rolePolicy:RolePolicy")
    ].inputs["policy"] = UNKNOWN
    model = IdentityModel.from_snapshot(changed.snapshot)
    assert (
        model.allowed(changed.api_role.urn, "secretsmanager:GetSecretValue", changed.api_secret_arn).verdict
        is Verdict.UNRESOLVED
    )


def test_a_policy_whose_role_is_unknown_may_belong_to_any_role():
    changed = Stack()
    changed.snapshot.resources[
        changed.api_role.urn.replace("iam/role:Role", "iam/rolePolicy:RolePolicy")
    ].inputs["role"] = UNKNOWN
    model = IdentityModel.from_snapshot(changed.snapshot)
    finding = model.allowed(changed.web_role.urn, "secretsmanager:GetSecretValue", changed.api_secret_arn)
    assert finding.verdict is Verdict.UNRESOLVED
    assert "lineage cannot trace" in finding.reason


def test_managed_policies_come_from_the_vendored_snapshot(stack: Stack):
    finding = stack.model.allowed(
        stack.node_role.urn, "eks-auth:AssumeRoleForPodIdentity", stack.snapshot.output(stack.cluster, "arn")
    )
    assert finding.verdict is Verdict.PROVEN
    entry = managed_policies()["AmazonEKSWorkerNodePolicy"]
    assert f"managed policy AmazonEKSWorkerNodePolicy ({entry['version']}" in finding.hops[0].text
    assert finding.hops[0].urn == _urn(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "cluster-nodes-managed-0"
    )


def test_a_managed_policy_missing_from_the_snapshot_is_unresolved():
    changed = Stack(lambda s: s.node_policies.append("arn:aws:iam::aws:policy/NotVendored"))
    finding = changed.model.allowed(changed.node_role.urn, "ecr:BatchGetImage", "*")
    assert finding.verdict is Verdict.UNRESOLVED  # it might deny what the others allow
    assert "aws:policy/NotVendored is not in the vendored managed_policies.json" in finding.reason


@pytest.mark.parametrize("stack_name", ["prod", "staging"])
def test_every_managed_policy_paved_attaches_is_vendored(
    shipped_recordings: Callable[[str], Recording], stack_name: str
):
    attachments = shipped_recordings(stack_name).of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attached = {resource.inputs["policyArn"] for resource in attachments}
    vendored = {entry["arn"] for entry in managed_policies().values()}
    assert attached and attached <= vendored


# -- services acting on the account's resources -----------------------------------------------------------

LOGS_SERVICE = f"logs.{REGION}.amazonaws.com"


def test_a_service_is_granted_by_the_key_policy_with_its_encryption_context(stack: Stack):
    logs_key = stack.snapshot.output(stack.logs_key, "arn")
    ours = {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/paved/prod/app"
    }
    finding = stack.model.service_allowed(LOGS_SERVICE, "kms:GenerateDataKey", logs_key, ours)
    assert finding.verdict is Verdict.PROVEN
    assert finding.hops[0].kind == "key-policy" and "statement ServiceUse" in finding.hops[0].text
    theirs = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{OUTSIDER_ACCOUNT}:log-group:x"}
    assert stack.model.service_allowed(LOGS_SERVICE, "kms:GenerateDataKey", logs_key, theirs).verdict is (
        Verdict.BROKEN
    )
    assert stack.model.service_allowed(LOGS_SERVICE, "kms:GenerateDataKey", logs_key).verdict is (
        Verdict.CONDITIONAL
    )


def test_the_account_statement_of_a_key_policy_grants_no_service(stack: Stack):
    finding = stack.model.service_allowed("cloudwatch.amazonaws.com", "kms:Decrypt", stack.key_arn)
    assert finding.verdict is Verdict.BROKEN
    assert "key policy of secrets (secrets.policy): nothing grants cloudwatch.amazonaws.com kms:Decrypt" in (
        finding.reason
    )


def test_alb_log_delivery_writes_only_under_the_accounts_prefix(stack: Stack):
    delivery = "logdelivery.elasticloadbalancing.amazonaws.com"
    ours = f"{stack.bucket_arn}/AWSLogs/{ACCOUNT}/elasticloadbalancing/x.log.gz"
    # The bucket's TLS-only Deny hangs on aws:SecureTransport: unknown, it might apply.
    assert stack.model.service_allowed(delivery, "s3:PutObject", ours).verdict is Verdict.CONDITIONAL
    tls = {"aws:SecureTransport": "true"}
    assert stack.model.service_allowed(delivery, "s3:PutObject", ours, tls).proven
    finding = stack.model.service_allowed(delivery, "s3:PutObject", f"{stack.bucket_arn}/elsewhere/x", tls)
    assert finding.verdict is Verdict.BROKEN
    assert "resource policy of alb-logs (alb-logs.policy): nothing grants" in finding.reason


# -- trust ------------------------------------------------------------------------------------------------


def test_irsa_trust_admits_exactly_the_service_account(stack: Stack):
    finding = stack.model.assumable(stack.api_role.urn, web_identity=(ISSUER, "app", "api"))
    assert finding.verdict is Verdict.PROVEN
    assert [hop.kind for hop in finding.hops] == ["oidc", "trust"]
    other = stack.model.assumable(stack.api_role.urn, web_identity=(ISSUER, "app", "web"))
    assert other.verdict is Verdict.BROKEN
    assert f"StringEquals {ISSUER}:sub = system:serviceaccount:app:api" in other.reason


def test_irsa_needs_the_snapshots_oidc_provider_and_the_sts_audience():
    other_provider = Stack(
        lambda s: s.irsa_trust["Principal"].update(
            Federated=f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/OTHER"
        )
    )
    finding = other_provider.model.assumable(other_provider.api_role.urn, web_identity=(ISSUER, "app", "api"))
    assert finding.verdict is Verdict.BROKEN
    assert "trust policy of role app-api does not let service account app/api" in finding.reason
    no_audience = Stack()
    no_audience.provider.inputs["clientIdLists"] = ["other"]
    finding = no_audience.model.assumable(no_audience.api_role.urn, web_identity=(ISSUER, "app", "api"))
    assert finding.verdict is Verdict.BROKEN
    assert "cluster-oidc.clientIdLists lacks sts.amazonaws.com" in finding.reason
    unknown_issuer = no_audience.model.assumable(
        no_audience.api_role.urn, web_identity=("oidc.other", "app", "api")
    )
    assert "no OpenIdConnectProvider has url https://oidc.other" in unknown_issuer.reason


def test_service_trust_with_source_account(stack: Stack):
    assert stack.model.assumable(stack.node_role.urn, service="ec2.amazonaws.com").proven
    assert stack.model.assumable(stack.node_role.urn, service="eks.amazonaws.com").verdict is Verdict.BROKEN
    guarded = Stack(lambda s: s.node_trust.update(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}))
    assert guarded.model.assumable(guarded.node_role.urn, service="ec2.amazonaws.com").verdict is (
        Verdict.CONDITIONAL
    )
    assert guarded.model.assumable(
        guarded.node_role.urn, service="ec2.amazonaws.com", context={"aws:SourceAccount": ACCOUNT}
    ).proven


def test_pod_identity_needs_the_association_and_both_sts_actions(stack: Stack):
    finding = stack.model.assumable(
        stack.csi_role.urn, pod_identity=("prod", "kube-system", "ebs-csi-controller-sa")
    )
    assert finding.verdict is Verdict.PROVEN
    assert [hop.kind for hop in finding.hops] == ["pod-identity", "trust", "trust"]
    wrong_sa = stack.model.assumable(stack.csi_role.urn, pod_identity=("prod", "kube-system", "other"))
    assert "no Pod Identity association maps prod kube-system/other to role cluster-aws-ebs-csi-driver" in (
        wrong_sa.reason
    )
    no_tag_session = Stack(lambda s: s.pod_identity_trust.update(Action="sts:AssumeRole"))
    broken = no_tag_session.model.assumable(
        no_tag_session.csi_role.urn, pod_identity=("prod", "kube-system", "ebs-csi-controller-sa")
    )
    assert broken.verdict is Verdict.BROKEN
    assert "does not let Pod Identity for kube-system/ebs-csi-controller-sa sts:TagSession" in broken.reason


def test_roles_for_service_account(stack: Stack):
    assert stack.model.roles_for_service_account("app", "api") == [stack.api_role.urn]
    assert stack.model.roles_for_service_account("kube-system", "ebs-csi-controller-sa") == [
        stack.csi_role.urn
    ]
    assert stack.model.roles_for_service_account("app", "web") == []


def test_an_addon_declares_pod_identity_for_its_own_service_account():
    """EKS add-ons carry their associations (`podIdentityAssociations`), in the add-on's own namespace."""
    changed = Stack()
    association = changed.snapshot.resources.pop(
        _urn("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws-ebs-csi-driver")
    )
    addon = _res(
        "aws:eks/addon:Addon",
        "cluster-aws-ebs-csi-driver",
        clusterName=association.inputs["clusterName"],
        addonName="aws-ebs-csi-driver",
        podIdentityAssociations=[
            {"serviceAccount": "ebs-csi-controller-sa", "roleArn": changed.association_role}
        ],
    )
    changed.snapshot.resources[addon.urn] = addon
    model = IdentityModel.from_snapshot(changed.snapshot)
    assert model.roles_for_service_account("kube-system", "ebs-csi-controller-sa") == [changed.csi_role.urn]
    finding = model.assumable(
        changed.csi_role.urn, pod_identity=("prod", "kube-system", "ebs-csi-controller-sa")
    )
    assert finding.verdict is Verdict.PROVEN
    assert finding.hops[0].property == "podIdentityAssociations.0.roleArn"


# -- forbidden: principals outside the account -------------------------------------------------------------


@pytest.mark.parametrize("target", ["secrets_key", "logs_key", "api_secret", "bucket"])
def test_paved_shaped_resource_policies_keep_outsiders_out(stack: Stack, target: str):
    finding = stack.model.outside_account_access(getattr(stack, target).urn)
    assert finding.verdict is Verdict.PROVEN, finding.reason


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
            "key policy of secrets statement Open lets * in",
        ),
        (
            {
                "Sid": "Partner",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
            "lets arn:aws:iam::111122223333:root in",
        ),
        (
            {
                "Sid": "Deputy",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
            "lets cloudwatch.amazonaws.com acting for another account in",
        ),
        (
            {
                "Sid": "Deputy",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:SourceArn": "arn:aws:*"}},
            },
            "lets cloudwatch.amazonaws.com acting for another account in",
        ),
    ],
)
def test_a_statement_opening_a_key_to_outsiders_is_reported(statement: dict[str, Any], reason: str):
    opened = Stack(lambda s: s.key_policy.append(statement))
    finding = opened.model.outside_account_access(opened.secrets_key.urn)
    assert finding.verdict is Verdict.BROKEN
    assert reason in finding.reason


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        {"StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}},
    ],
)
def test_an_account_condition_keeps_an_open_principal_in_the_account(condition: Mapping[str, Any]):
    guarded = Stack(
        lambda s: s.key_policy.append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": condition,
            }
        )
    )
    assert guarded.model.outside_account_access(guarded.key_arn).verdict is Verdict.PROVEN


def test_a_deny_for_outsiders_closes_an_open_allow():
    def open_secret(stack: Stack) -> None:
        stack.secret_policy.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        )

    closed = Stack(open_secret)
    assert closed.model.outside_account_access(closed.api_secret.urn).verdict is Verdict.PROVEN
    closed.secret_policy.pop(0)
    reopened = Stack(open_secret)
    reopened.api_secret.inputs["policy"] = _doc(reopened.secret_policy[-1])
    model = IdentityModel.from_snapshot(reopened.snapshot)
    assert model.outside_account_access(reopened.api_secret.urn).verdict is Verdict.BROKEN


def test_an_unknown_resource_policy_is_unresolved():
    changed = Stack()
    changed.secrets_key.inputs["policy"] = UNKNOWN
    model = IdentityModel.from_snapshot(changed.snapshot)
    assert model.outside_account_access(changed.secrets_key.urn).verdict is Verdict.UNRESOLVED


# -- the shipped stacks ------------------------------------------------------------------------------------

STACKS = ["prod", "staging"]
PREVIEWS = Path(__file__).parent / "fixtures" / "previews"
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
GOVERNED = (SECRET_TYPE, "aws:kms/key:Key", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def _shipped(shipped_snapshots: Callable[[str], Snapshot], stack_name: str) -> tuple[Snapshot, IdentityModel]:
    snapshot = shipped_snapshots(stack_name)
    return snapshot, IdentityModel.from_snapshot(snapshot)


def _secret(snapshot: Snapshot, name: str) -> Resource:
    return next(s for s in snapshot.of_type(SECRET_TYPE) if s.get("name") == name)


@pytest.mark.parametrize("stack_name", STACKS)
def test_every_policy_of_the_shipped_stacks_is_traced_and_readable(
    shipped_snapshots: Callable[[str], Snapshot], stack_name: str
):
    _, model = _shipped(shipped_snapshots, stack_name)
    assert model.untraced == []
    policies = [p for listed in (*model.identity.values(), *model.resource_policies.values()) for p in listed]
    assert policies and [p.unresolved for p in policies if p.unresolved] == []


@pytest.mark.parametrize("stack_name", STACKS)
def test_each_app_assumes_its_role_and_reads_exactly_the_secrets_it_lists(
    shipped_snapshots: Callable[[str], Snapshot], stack_name: str
):
    snapshot, model = _shipped(shipped_snapshots, stack_name)
    (cluster,) = snapshot.of_type("aws:eks/cluster:Cluster")
    issuer = snapshot.output(cluster, "identities")[0]["oidcs"][0]["issuer"]
    app_secrets = [s for s in snapshot.of_type(SECRET_TYPE) if s.get("name").startswith(f"{stack_name}/app/")]
    checked = 0
    for app in snapshot.config["paved:apps"]:
        if not app.get("secrets"):
            continue
        (role_urn,) = model.roles_for_service_account(app["name"], app["name"])
        assert model.assumable(role_urn, web_identity=(issuer, app["name"], app["name"])).proven
        for secret in app_secrets:
            finding = model.allowed(role_urn, "secretsmanager:GetSecretValue", snapshot.output(secret, "arn"))
            listed = secret.get("name").removeprefix(f"{stack_name}/app/") in app["secrets"]
            assert finding.proven is listed, (app["name"], secret.name, finding.reason)
            via = {"kms:ViaService": f"secretsmanager.{snapshot.config['aws:region']}.amazonaws.com"}
            assert model.allowed(role_urn, "kms:Decrypt", secret.get("kmsKeyId"), via).proven
            checked += 1
    assert checked


def test_mutation_of_a_shipped_app_policy_reports_the_role_policy(
    shipped_snapshots: Callable[[str], Snapshot],
):
    snapshot = shipped_snapshots("prod")
    (role_policy,) = [r for r in snapshot.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "api-secrets"]
    document = json.loads(role_policy.get("policy"))
    document["Statement"] = [s for s in document["Statement"] if s["Action"] != "kms:Decrypt"]
    role_policy.inputs["policy"] = json.dumps(document)
    model = IdentityModel.from_snapshot(snapshot)
    (role_urn,) = model.roles_for_service_account("api", "api")
    key_arn = _secret(snapshot, "prod/app/JWT_SECRET").get("kmsKeyId")
    finding = model.allowed(
        role_urn, "kms:Decrypt", key_arn, {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    )
    assert finding.verdict is Verdict.BROKEN
    assert f"role api-secrets: no identity policy allows kms:Decrypt on {key_arn}" in finding.reason


@pytest.mark.parametrize("stack_name", STACKS)
def test_pod_identity_roles_of_the_shipped_stacks_are_assumable(
    shipped_snapshots: Callable[[str], Snapshot], stack_name: str
):
    snapshot, model = _shipped(shipped_snapshots, stack_name)
    associations = list(model.pod_identity_associations())
    assert associations
    for association in associations:
        role = model.role_of(association.role_arn)
        assert role is not None
        # An add-on's association has no namespace of its own: the add-on's is the one paved expects.
        addon = association.resource.get("addonName")
        namespace = association.namespace or ADDON_IDENTITIES[addon][0]
        who = (association.cluster, namespace, association.service_account)
        finding = model.assumable(role.urn, pod_identity=who)
        assert finding.proven, (association.resource.name, finding.reason)


@pytest.mark.parametrize("stack_name", STACKS)
def test_no_key_secret_or_bucket_of_the_shipped_stacks_admits_outsiders(
    shipped_snapshots: Callable[[str], Snapshot], stack_name: str
):
    snapshot, model = _shipped(shipped_snapshots, stack_name)
    findings = {r.name: model.outside_account_access(r.urn) for r in snapshot.of_type(*GOVERNED)}
    assert findings and [name for name, f in findings.items() if f.verdict is Verdict.BROKEN] == []


def test_mutation_opening_a_shipped_key_to_outsiders_is_reported(
    shipped_snapshots: Callable[[str], Snapshot],
):
    snapshot = shipped_snapshots("prod")
    key = next(k for k in snapshot.of_type("aws:kms/key:Key") if k.name == "secrets")
    document = json.loads(key.get("policy"))
    document["Statement"].append(
        {
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    key.inputs["policy"] = json.dumps(document)
    finding = IdentityModel.from_snapshot(snapshot).outside_account_access(key.urn)
    assert finding.verdict is Verdict.BROKEN
    assert "key policy of secrets statement Partner lets arn:aws:iam::111122223333:root in" in finding.reason


def test_shipped_alarms_publish_to_the_alerts_topic_through_its_key(
    shipped_snapshots: Callable[[str], Snapshot],
):
    snapshot, model = _shipped(shipped_snapshots, "prod")
    topic = next(t for t in snapshot.of_type("aws:sns/topic:Topic") if t.name == "alerts")
    alarm = {
        "aws:SourceAccount": ACCOUNT,
        "aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:prod-database-cpu",
    }
    publish = model.service_allowed(
        "cloudwatch.amazonaws.com", "sns:Publish", snapshot.output(topic, "arn"), alarm
    )
    assert publish.proven, publish.reason
    key = topic.get("kmsMasterKeyId")
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert model.service_allowed("cloudwatch.amazonaws.com", action, key, alarm).proven
    staging_alarm = {**alarm, "aws:SourceArn": alarm["aws:SourceArn"].replace("prod-", "staging-")}
    other = model.service_allowed(
        "cloudwatch.amazonaws.com", "sns:Publish", snapshot.output(topic, "arn"), staging_alarm
    )
    assert other.verdict is Verdict.BROKEN
    assert "ArnLike aws:SourceArn" in other.reason


@pytest.mark.parametrize(
    ("fixture", "verdict"),
    [("c78210d-prod.json", Verdict.PROVEN), ("c78210d-prod-no-lineage.json", Verdict.UNRESOLVED)],
)
def test_a_saved_preview_without_lineage_leaves_policy_documents_unresolved(fixture: str, verdict: Verdict):
    """The real CLI's JSON carries no policy document it could not compute: reported, never guessed."""
    snapshot = Snapshot.from_preview(json.loads((PREVIEWS / fixture).read_text()))
    model = IdentityModel.from_snapshot(snapshot)
    role = next(r for r in snapshot.of_type("aws:iam/role:Role") if r.name == "api-secrets")
    finding = model.allowed(
        role.urn,
        "secretsmanager:GetSecretValue",
        snapshot.output(_secret(snapshot, "prod/app/JWT_SECRET"), "arn"),
    )
    assert finding.verdict is verdict
    if verdict is Verdict.UNRESOLVED:
        assert finding.reason == "RolePolicy api-secrets (policy) is unknown in the preview"
