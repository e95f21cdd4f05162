"""The catalogues config is checked against (paved/catalogues.py), each held to the library it comes from."""

import re

import pytest
from botocore.loaders import create_loader

from paved.catalogues import partition_of, region_problem, regions
from tests.stack_config import assert_rule_reports_path_and_hint, case, problems_of, shipped, without

BOTOCORE_PARTITIONS = create_loader().load_data("partitions")["partitions"]


def test_regions_are_botocores_for_the_aws_partition_without_pseudo_regions() -> None:
    [aws] = [entry for entry in BOTOCORE_PARTITIONS if entry["id"] == "aws"]
    assert regions() == {name for name in aws["regions"] if re.match(aws["regionRegex"], name)}
    assert {"us-east-1", "eu-west-1", "eu-central-1"} <= regions()
    assert "aws-global" in aws["regions"] and "aws-global" not in regions()


@pytest.mark.parametrize("entry", BOTOCORE_PARTITIONS, ids=lambda entry: entry["id"])
def test_every_partitions_regions_are_known_by_their_partition(entry: dict) -> None:
    named = [name for name in entry["regions"] if re.match(entry["regionRegex"], name)]
    assert named and all(partition_of(name) == entry["id"] for name in named)


@pytest.mark.parametrize(
    ("region", "message", "hint"),
    [
        ("us-east-9", "not an AWS region", "did you mean us-east-2 or us-east-1"),
        ("eu-west1", "not an AWS region", "did you mean eu-west-1"),
        ("aws-global", "not an AWS region", "eu-west-1"),
        ("EU-WEST-1", "not an AWS region", "eu-west-1"),
        ("us-gov-west-1", "in the aws-us-gov partition", "aws partition only"),
        ("cn-north-1", "in the aws-cn partition", "aws partition only"),
    ],
)
def test_a_region_paved_cannot_use_is_said_with_a_hint(region: str, message: str, hint: str) -> None:
    problem = region_problem(region)
    assert problem is not None and message in problem[0] and hint in problem[1]


def test_a_commercial_region_is_accepted() -> None:
    assert region_problem("mx-central-1") is None


REGION_CASES = [
    case("prod", lambda raw: {**raw, "aws:region": "us-east-9"}, "aws:region", "no-such-region"),
    case("prod", lambda raw: {**raw, "paved:drRegion": "us-gov-east-1"}, "paved:drRegion", "other-partition"),
    case(
        "prod",
        lambda raw: {
            **raw,
            "paved:domain": {
                **raw["paved:domain"],
                "certificateArn": "arn:aws:acm:eu-west-9:123456789012:certificate/"
                "0123abcd-0123-0123-0123-0123456789ab",
            },
        },
        "paved:domain.certificateArn",
        "certificate-region",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), REGION_CASES)
def test_region_keys_report_path_and_hint(stack, mutation, path) -> None:  # noqa: ANN001 pytest params
    assert_rule_reports_path_and_hint(stack, mutation, path)


def test_a_missing_region_or_environment_is_one_problem_each() -> None:
    raw = without(without(shipped("prod"), "aws:region"), "paved:environment")
    assert [problem.path for problem in problems_of(raw, "prod")] == ["paved:environment", "aws:region"]
