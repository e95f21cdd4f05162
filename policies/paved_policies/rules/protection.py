"""Stateful resources in prod are protected from deletion by Pulumi itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.rule import Finding, ResourceContext, compliant, resource_rule, violation

# What losing the resource loses: the data itself, or (a key) everything it encrypted.
STATEFUL_TYPES = {
    "aws:rds/instance:Instance": "DB instance",
    "aws:rds/cluster:Cluster": "DB cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replication group",
    "aws:kms/key:Key": "KMS key",
    "aws:kms/replicaKey:ReplicaKey": "KMS replica key",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:cloudwatch/logGroup:LogGroup": "log group",
    "aws:backup/vault:Vault": "backup vault",
    "aws:eks/cluster:Cluster": "EKS cluster",
}


@resource_rule(
    name="stateful-resources-protected",
    description=(
        "Databases, caches, KMS keys, buckets, secrets, log groups, backup vaults and EKS clusters carry "
        "Pulumi's `protect` option, so no `pulumi destroy`, removed line or replacing change can delete them."
    ),
    severity="high",
    remediation=(
        "Pass opts=pulumi.ResourceOptions(protect=True) (lift it with `pulumi state unprotect` when the "
        "resource really is to go). retain_on_delete is not an alternative the pack can see: the Analyzer "
        "protocol carries protect only."
    ),
    resource_types=tuple(STATEFUL_TYPES),
    staging_enforcement="advisory",
    url="https://www.pulumi.com/docs/iac/concepts/options/protect/",
)
def stateful_resources_protected(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if ctx.protect:
        return compliant()
    return violation(
        f"{STATEFUL_TYPES.get(ctx.resource_type, 'Resource')} '{ctx.name}' is not protected: a destroy, a "
        "removed declaration or a replacement would delete it and its data."
    )


RULES = (stateful_resources_protected,)
