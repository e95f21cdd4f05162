"""ECR (components/registry.py): the apps' repositories and their lifecycle, run per stack under
first-preview semantics; and what `<app>:<tag>` means in an app's `image`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.registry import lifecycle_policy
from paved.config import load_stack_file
from paved.images import own_repository, repository_name
from paved.recorder import Recording
from tests.data_tier import changed, key_urn, problem_paths
from tests.test_aws_names import problems_of

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
APPS = ("web", "api", "worker")


def test_each_app_has_an_immutable_repository_encrypted_with_the_data_key(prod: Recording) -> None:
    # Only prod is run here: staging's repositories differ by their names and `protect`, from the same code.
    stack, recording = "prod", prod
    repositories = {r.name.removeprefix("registry-"): r for r in recording.of_type(REPOSITORY)}
    assert sorted(repositories) == sorted(APPS)
    for app, repository in repositories.items():
        assert repository.inputs["name"] == f"paved-{stack}/{app}"
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        [encryption] = repository.inputs["encryptionConfigurations"]
        assert encryption["encryptionType"] == "KMS"
        assert repository.property_dependencies["encryptionConfigurations"] == [key_urn(recording, "data")]
        assert repository.inputs["forceDelete"] is False
        assert repository.protect is True
        # The registry-level scanning configuration (the bootstrap program's) scans; the repository's own
        # flag is deprecated.
        assert "imageScanningConfiguration" not in repository.inputs


def test_lifecycle_keeps_the_newest_releases_and_drops_untagged_images(prod: Recording) -> None:
    recording, keep = prod, 30
    for app in APPS:
        policy = recording.one(LIFECYCLE, f"registry-{app}")
        assert policy.property_dependencies["repository"] == [
            recording.one(REPOSITORY, f"registry-{app}").urn
        ]
        rules = json.loads(policy.inputs["policy"])["rules"]
        assert [(rule["rulePriority"], rule["selection"]["tagStatus"]) for rule in rules] == [
            (1, "untagged"),
            (2, "tagged"),
        ]
        untagged, tagged = (rule["selection"] for rule in rules)
        assert (untagged["countType"], untagged["countUnit"], untagged["countNumber"]) == (
            "sinceImagePushed",
            "days",
            1,
        )
        # LifecyclePolicies.html: `untagged` omits both tag lists; `tagged` needs one of them.
        assert not {"tagPrefixList", "tagPatternList"} & set(untagged)
        assert tagged == {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": keep,
        }
        assert all(rule["action"] == {"type": "expire"} for rule in rules)


def test_staging_keeps_fewer_releases_and_blocks_only_critical_findings() -> None:
    registry = load_stack_file(ROOT / "stacks" / "Pulumi.staging.yaml", "staging").registry
    assert (registry.keep_releases, registry.block_severity) == (10, "CRITICAL")
    assert json.loads(lifecycle_policy(10))["rules"][1]["selection"]["countNumber"] == 10


def test_keep_releases_leaves_room_for_a_rollback() -> None:
    raw = changed("prod", {"paved:registry": {"keepReleases": 1}})
    assert problem_paths(raw, "prod") == {"paved:registry.keepReleases"}


def test_apps_name_their_own_repository_by_app_name(prod: Recording) -> None:
    deployments = {d.name: d for d in prod.of_type("kubernetes:apps/v1:Deployment")}
    [container] = deployments["api"].inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/paved-prod/api:2.7.0"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("api:2.7.0", ("api", ":2.7.0")),
        ("api@sha256:" + "a" * 64, ("api", "@sha256:" + "a" * 64)),
        ("docker.io/library/api:2.7.0", None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:2.7.0", None),
        ("nginx:1.27", None),
    ],
)
def test_only_a_bare_app_name_means_the_stacks_repository(
    image: str, expected: tuple[str, str] | None
) -> None:
    assert own_repository(image, APPS) == expected


def test_repository_names_are_lowercase_and_ones_ecr_takes() -> None:
    name = repository_name("Paved", "Prod", "web")
    assert name == "paved-prod/web"
    assert problems_of(name, "ecr", "CreateRepository", "repositoryName") == []
    # The check that judges the recorded names refuses what ECR refuses.
    assert problems_of("Paved-Prod/web", "ecr", "CreateRepository", "repositoryName")
    assert problems_of(lifecycle_policy(30), "ecr", "PutLifecyclePolicy", "lifecyclePolicyText") == []
