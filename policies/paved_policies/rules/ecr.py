"""ECR rules: private repositories' tags, lifecycle and encryption.

ECR.1 (image scanning) is not judged: scanning is the registry's setting, one per account and region, in
another program than the repositories (fsbp_controls.json says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import UNKNOWN, get, get_seq, get_text, peek
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


@resource_rule(
    name="ecr-tag-immutability",
    description="ECR private repositories keep tags immutable: a pushed tag always names the same image.",
    severity="medium",
    remediation=(
        "Set image_tag_mutability='IMMUTABLE' on the aws.ecr.Repository (unset, it is MUTABLE), and push "
        "each release under a new tag."
    ),
    resource_types=(REPOSITORY,),
    checkov=("CKV_AWS_51",),
    fsbp=("ECR.2",),
    url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
)
def ecr_tag_immutability(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # ECR.2 documents only IMMUTABLE as passing; the *_WITH_EXCLUSION modes let some tags move.
    mutability = get_text(props, "imageTagMutability") or "MUTABLE"
    if mutability == "IMMUTABLE":
        return compliant()
    return violation(f"Repository '{ctx.name}' has imageTagMutability {mutability}, not IMMUTABLE.")


def _names_repository(policy: Mapping[str, Any], name: Any) -> bool:
    literal = peek(lambda: get(policy, "repository"))
    return isinstance(name, str) and literal == name


@stack_rule(
    name="ecr-lifecycle-policy",
    description="Every ECR private repository has a lifecycle policy.",
    severity="medium",
    remediation=(
        "Create an aws.ecr.LifecyclePolicy with repository=<the repository>.name: expire untagged images "
        "after a day and keep the newest N tagged ones, N at least 2 so the release a rollback returns to "
        "stays."
    ),
    resource_types=(REPOSITORY,),
    fsbp=("ECR.3",),
    url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html",
)
def ecr_lifecycle_policy(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.referrers("repository", (LIFECYCLE_POLICY,)):
        return compliant()
    name = peek(lambda: get(props, "name"))
    if any(_names_repository(other.props, name) for other in ctx.of_types((LIFECYCLE_POLICY,))):
        return compliant()
    return violation(f"Repository '{ctx.name}' has no {LIFECYCLE_POLICY} whose repository is it.")


@resource_rule(
    name="ecr-repository-kms",
    description="ECR private repositories are encrypted with a customer managed KMS key.",
    severity="medium",
    remediation=(
        "Give the aws.ecr.Repository encryption_configurations=[{encryption_type: 'KMS', kms_key: <a "
        "customer managed key's ARN>}] when it is created: ECR can't change a repository's encryption, so "
        "an existing one is replaced, and its images pushed again."
    ),
    resource_types=(REPOSITORY,),
    checkov=("CKV_AWS_136",),
    url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html",
)
def ecr_repository_kms(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    configurations = get_seq(props, "encryptionConfigurations")
    if not configurations:
        return violation(f"Repository '{ctx.name}' is encrypted with S3-managed keys (AES256), not KMS.")
    encryption = configurations[0]
    kind = get_text(encryption, "encryptionType") or "AES256"
    if kind not in ("KMS", "KMS_DSSE"):
        return violation(f"Repository '{ctx.name}' has encryptionType {kind}, not KMS.")
    # Without a key ECR uses its AWS managed key (aws/ecr), which no key policy of the account governs. A key
    # unknown in preview is another resource's output: a key the program creates (no program can create an
    # `alias/aws/` alias, and a lookup of one is an invoke, known in preview).
    key = peek(lambda: get(encryption, "kmsKey"))
    if key is not UNKNOWN and not key:
        return violation(
            f"Repository '{ctx.name}' uses the AWS managed key aws/ecr, not a customer managed one."
        )
    return compliant()


RULES = (ecr_tag_immutability, ecr_lifecycle_policy, ecr_repository_kms)
