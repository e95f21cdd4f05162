"""Every consumer of an IAM role waits for the role's policies, in both shipped stacks.

AWS checks a role's permissions when a consumer is created (RDS: "IAM role ARN value is invalid or does not
include the required permissions for: ENHANCED_MONITORING"), so depending on the role alone is not enough.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from paved.recorder import RecordedResource, Recording

ROLE = "aws:iam/role:Role"
# The resources that give a role its permissions.
GRANTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy")
# Consumers the issue names: if the walk stopped finding these, it would pass without checking anything.
EXPECTED_CONSUMERS = {
    "prod": {
        "aws:rds/instance:Instance",
        "aws:rds/proxy:Proxy",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:backup/selection:Selection",
        "aws:ec2/flowLog:FlowLog",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "kubernetes:core/v1:ServiceAccount",
    },
    "staging": {
        "aws:rds/instance:Instance",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:ec2/flowLog:FlowLog",
        "kubernetes:core/v1:ServiceAccount",
    },
}


@pytest.fixture(scope="module", params=sorted(EXPECTED_CONSUMERS))
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def _references(resource: RecordedResource) -> set[str]:
    """Every URN the resource waits for: its depends_on and the resources its inputs were computed from.

    The engine records an input computed from a role's output (its ARN, name or id) as a property
    dependency on the role: that is how an input holding a role ARN shows up in a preview, where ARNs
    are unknown.
    """
    return {
        *resource.dependencies,
        *(urn for urns in resource.property_dependencies.values() for urn in urns),
    }


def _grants_by_role(recording: Recording) -> dict[str, set[str]]:
    roles = {role.urn for role in recording.of_type(ROLE)}
    grants: dict[str, set[str]] = {urn: set() for urn in roles}
    for grant in (r for r in recording.resources if r.type in GRANTS):
        [role] = set(grant.property_dependencies.get("role", [])) & roles
        grants[role].add(grant.urn)
    return grants


def test_every_consumer_of_a_role_depends_on_all_of_its_policies(recording: Recording) -> None:
    grants = _grants_by_role(recording)
    by_urn = recording.by_urn()
    consumers: dict[str, list[RecordedResource]] = {role: [] for role in grants}
    missing: list[str] = []
    for resource in recording.resources:
        references = _references(resource)
        for role in references & grants.keys():
            if resource.urn in grants[role]:
                continue  # the role's own policies reference it; they are what the others wait for
            consumers[role].append(resource)
            missing += [
                f"{resource.type} {resource.name} uses role {by_urn[role].name} "
                f"but does not wait for {by_urn[grant].name} ({by_urn[grant].type})"
                for grant in sorted(grants[role] - references)
            ]
    assert not missing, "\n".join(missing)
    for role, policies in grants.items():
        # A role without policies can do nothing; one without consumers is dead code.
        assert policies, f"role {by_urn[role].name} has no policy"
        assert consumers[role], f"role {by_urn[role].name} is used by nothing"
    found = {consumer.type for found in consumers.values() for consumer in found}
    assert EXPECTED_CONSUMERS[recording.stack] <= found
