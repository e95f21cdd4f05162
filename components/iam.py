"""IAM roles that AWS services assume, with the confused-deputy guard AWS recommends in every trust policy.

https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.kms import AwsContext, aws_context


@dataclass(frozen=True)
class GrantedRole:
    """A role with the policies that grant its permissions.

    A consumer passes `arn` and depends on `ready`: AWS checks a role's permissions when the consumer is
    created (RDS refuses enhanced monitoring, EKS a control-plane role without AmazonEKSClusterPolicy), so the
    role alone is not enough. The same dependencies delete the consumer before its permissions on `destroy`.
    """

    role: aws.iam.Role
    policies: tuple[aws.iam.RolePolicyAttachment | aws.iam.RolePolicy, ...]

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.role, *self.policies]


def service_role(
    name: str,
    *,
    service: str,
    description: str,
    managed_policy_arns: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    source_account_guard: bool = True,
    source_arn: pulumi.Input[str] | None = None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> GrantedRole:
    """A role only `service` may assume, and only on behalf of this account.

    `managed_policy_arns` are partition-relative (`iam::aws:policy/...`); the partition is filled in.
    `source_account_guard=False` is for services that document an unconditioned trust policy (EKS, EC2):
    they do not send aws:SourceAccount when they assume the role, so the condition would lock them out.
    `source_arn` (wildcards allowed) narrows the guard to the service's resources that may assume the role.
    """
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    condition: dict[str, Any] = {}
    if source_account_guard:
        condition["StringEquals"] = {"aws:SourceAccount": context.account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    trust = policy_document(statement)
    inline = {name: inline_policy} if inline_policy is not None else {}
    return _role(name, description, trust, managed_policy_arns, inline, tags, context, parent)


def pod_identity_role(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    description: str,
    managed_policy_arns: Sequence[str] = (),
    inline_policies: Sequence[pulumi.Input[str]] = (),
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> GrantedRole:
    """A role that EKS Pod Identity hands to one service account of one cluster, and to nothing else.

    Pod Identity tags the session with the cluster, namespace and service account; the trust policy matches
    all three: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
    Each of `inline_policies` is a policy of its own (`<name>-<index>`), so each stays under IAM's size limit.
    """
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    trust = policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": context.account,
                    "aws:RequestTag/eks-cluster-name": cluster_name,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                }
            },
        }
    )
    inline = {f"{name}-{index}": policy for index, policy in enumerate(inline_policies)}
    return _role(name, description, trust, managed_policy_arns, inline, tags, context, parent)


def service_account_role(
    name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    namespace: str,
    service_account: str,
    description: str,
    inline_policy: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> GrantedRole:
    """An IRSA role: only tokens of one service account, issued by the cluster's OIDC provider for STS.

    `oidc_issuer` is the issuer URL without `https://`.
    https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    """
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    trust = pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda values: policy_document(
            {
                "Effect": "Allow",
                "Principal": {"Federated": values[0]},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{values[1]}:sub": subject, f"{values[1]}:aud": "sts.amazonaws.com"}
                },
            }
        )
    )
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    return _role(name, description, trust, (), {name: inline_policy}, tags, context, parent)


GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# The audience aws-actions/configure-aws-credentials asks GitHub for.
GITHUB_AUDIENCE = "sts.amazonaws.com"


def github_actions_role(
    name: str,
    *,
    role_name: str,
    provider: pulumi.Input[str],
    provider_resource: pulumi.Resource,
    repository: str,
    subjects: Sequence[str],
    managed_policy_arns: Sequence[str],
    inline_policy: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> GrantedRole:
    """A role for GitHub Actions jobs of `repository` whose token's subject is exactly one of `subjects`
    (`pull_request`, `environment:prod`, `ref:refs/heads/main`), the audience pinned: what the pack's
    iam-github-oidc-trust-pinned asks. It waits for `provider_resource`: IAM refuses a trust policy naming a
    provider that does not exist yet.
    https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws
    """
    trust = policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": [f"repo:{repository}:{subject}" for subject in subjects],
                }
            },
        }
    )
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    return _role(
        name,
        f"GitHub Actions of {repository}: {', '.join(subjects)}",
        trust,
        managed_policy_arns,
        {name: inline_policy},
        tags,
        context,
        parent,
        # Named, not autonamed: the workflows' variables name them, and the app stacks' cluster access.
        role_name=role_name,
        # An `up` of a database or cluster version outlasts a session's default hour.
        max_session_duration=4 * 3600,
        depends_on=[provider_resource],
    )


def _role(
    name: str,
    description: str,
    trust: pulumi.Input[str],
    managed_policy_arns: Sequence[str],
    inline_policies: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    context: AwsContext,
    parent: pulumi.Resource,
    *,
    role_name: str | None = None,
    max_session_duration: int | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> GrantedRole:
    """The role (autonamed unless `role_name`), its managed policy attachments, and its inline policies
    (resource name -> document)."""
    here = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        name,
        name=role_name,
        description=description,
        assume_role_policy=trust,
        max_session_duration=max_session_duration,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-managed-{index}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", context.partition, ":", policy),
            opts=here,
        )
        for index, policy in enumerate(managed_policy_arns)
    ]
    inline = [
        aws.iam.RolePolicy(policy_name, role=role.id, policy=document, opts=here)
        for policy_name, document in inline_policies.items()
    ]
    return GrantedRole(role, (*attachments, *inline))


def secrets_read_statements(
    secret_arns: Sequence[pulumi.Input[str]],
    *,
    kms_key_arn: pulumi.Input[str],
    region: pulumi.Input[str],
    actions: Sequence[str] = ("secretsmanager:GetSecretValue",),
) -> list[dict[str, Any]]:
    """Read exactly these secrets, and decrypt them only through Secrets Manager, never arbitrary ciphertext
    with the key: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"""
    return [
        {"Effect": "Allow", "Action": list(actions), "Resource": list(secret_arns)},
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com")
                }
            },
        },
    ]


def policy_document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})
