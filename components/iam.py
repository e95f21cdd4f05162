"""IAM roles that AWS services assume, with the confused-deputy guard AWS recommends in every trust policy.

https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.kms import AwsContext, aws_context


def service_role(
    name: str,
    *,
    service: str,
    description: str,
    managed_policy_arns: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    source_account_guard: bool = True,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role only `service` may assume, and only on behalf of this account.

    `managed_policy_arns` are partition-relative (`iam::aws:policy/...`); the partition is filled in.
    `source_account_guard=False` is for services that document an unconditioned trust policy (EKS, EC2):
    they do not send aws:SourceAccount when they assume the role, so the condition would lock them out.
    """
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account_guard:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": context.account}}
    trust = policy_document(statement)
    return _role(name, description, trust, managed_policy_arns, inline_policy, tags, context, parent)


def pod_identity_role(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    description: str,
    managed_policy_arns: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role that EKS Pod Identity hands to one service account of one cluster, and to nothing else.

    Pod Identity tags the session with the cluster, namespace and service account; the trust policy matches
    all three: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
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
    return _role(name, description, trust, managed_policy_arns, inline_policy, tags, context, parent)


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
) -> aws.iam.Role:
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
    return _role(name, description, trust, (), inline_policy, tags, context, parent)


def _role(
    name: str,
    description: str,
    trust: pulumi.Input[str],
    managed_policy_arns: Sequence[str],
    inline_policy: pulumi.Input[str] | None,
    tags: Mapping[str, str],
    context: AwsContext,
    parent: pulumi.Resource,
) -> aws.iam.Role:
    here = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(name, description=description, assume_role_policy=trust, tags=dict(tags), opts=here)
    for index, policy in enumerate(managed_policy_arns):
        aws.iam.RolePolicyAttachment(
            f"{name}-managed-{index}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", context.partition, ":", policy),
            opts=here,
        )
    if inline_policy is not None:
        aws.iam.RolePolicy(name, role=role.id, policy=inline_policy, opts=here)
    return role


def policy_document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})
