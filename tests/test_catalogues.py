"""The catalogues config is checked against (paved/catalogues.py), each held to the library it comes from."""

import re
from datetime import date
from typing import Any

import botocore.session
import pytest
from botocore.loaders import create_loader

from paved.catalogues import (
    CACHE_ENGINE_VERSIONS,
    POSTGRES_MAJORS,
    cache_node_type_problem,
    cache_version_problem,
    ec2_instance_types,
    elasticache_node_types,
    instance_type_problem,
    partition_of,
    postgres_version_problem,
    rds_instance_class_problem,
    region_problem,
    regions,
)
from paved.config import load_stack_config
from tests.stack_config import (
    assert_rule_reports_path_and_hint,
    case,
    problems_of,
    section,
    shipped,
    without,
)

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


# -- instance and node types ------------------------------------------------------------------------------


def test_ec2_instance_types_are_the_providers_enum() -> None:
    from pulumi_aws.ec2 import InstanceType

    assert ec2_instance_types() == {member.value for member in InstanceType}
    assert instance_type_problem("m7i.large") is None
    problem = instance_type_problem("m7i.hugest")
    assert problem is not None and "not an EC2 instance type" in problem[0]


@pytest.mark.parametrize(
    "instance_class", ["db.r7g.large", "db.t4g.medium", "db.m8g.2xlarge", "db.r7i.xlarge"]
)
def test_rds_classes_of_postgres_families_are_accepted(instance_class: str) -> None:
    assert rds_instance_class_problem(instance_class) is None


@pytest.mark.parametrize(
    ("instance_class", "said"),
    [
        ("db.x9.huge", "not an RDS instance class"),
        ("r7g.large", "not an RDS instance class"),
        ("db.m7g.medium", "not a class RDS for PostgreSQL offers"),  # EC2 has m7g.medium; RDS starts at large
        ("db.r7g.metal", "not a class RDS for PostgreSQL offers"),
        ("db.c7g.large", "not a class RDS for PostgreSQL offers"),
    ],
)
def test_rds_classes_postgres_cannot_run_on_are_refused(instance_class: str, said: str) -> None:
    problem = rds_instance_class_problem(instance_class)
    assert problem is not None and said in problem[0]


def _elasticache_model() -> Any:
    return botocore.session.get_session().get_service_model("elasticache")


def test_node_types_are_the_current_generation_botocore_documents() -> None:
    model = _elasticache_model()
    newest = create_loader().determine_latest_version("elasticache", "service-2")
    assert model.api_version == newest
    documented = set(re.findall(r"cache\.[a-z0-9]+\.[a-z0-9]+", model.shape_for("CacheNode").documentation))
    assert elasticache_node_types() < documented
    assert {
        "cache.r7g.large",
        "cache.m7g.16xlarge",
        "cache.t4g.micro",
        "cache.r6g.large",
    } <= elasticache_node_types()
    previous_or_t2 = {
        "cache.t1.micro",
        "cache.m3.medium",
        "cache.c1.xlarge",
        "cache.r3.large",
        "cache.t2.micro",
    }
    assert not previous_or_t2 & elasticache_node_types()
    problem = cache_node_type_problem("cache.t2.micro")
    assert problem is not None and "cache.t3.micro" in problem[1]


def test_every_offered_redis_version_is_past_every_node_types_minimum() -> None:
    # "M6g node types (available only for Redis OSS engine version 5.0.6 onward ...)": with these versions,
    # any current node type suits any offered version, so config need not pair them.
    text = re.sub(r"<[^>]+>", " ", _elasticache_model().shape_for("CacheNode").documentation)
    minimums = re.findall(r"available only for Redis OSS engine version ([\d.]+) onward", text)
    assert minimums
    redis_versions = [version for engine, version in CACHE_ENGINE_VERSIONS if engine == "redis"]
    for version in redis_versions:
        assert all(_numbers(version) >= _numbers(minimum) for minimum in minimums)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# -- engine versions and parameter group families -------------------------------------------------------


def test_cache_families_are_ones_elasticache_accepts() -> None:
    member = _elasticache_model().operation_model("CreateCacheParameterGroup").input_shape.members
    accepted = set(
        re.findall(r"\b(?:valkey|redis)[0-9.x]+\b", member["CacheParameterGroupFamily"].documentation)
    )
    assert set(CACHE_ENGINE_VERSIONS.values()) <= accepted
    assert CACHE_ENGINE_VERSIONS[("redis", "6.2")] == "redis6.x"


def test_postgres_majors_name_their_family() -> None:
    assert all(entry.family == f"postgres{major}" for major, entry in POSTGRES_MAJORS.items())


@pytest.mark.parametrize(
    ("version", "accepted"), [("17", True), ("16.4", True), ("13", False), ("9.6", False)]
)
def test_postgres_versions_in_standard_support(version: str, accepted: bool) -> None:
    assert (postgres_version_problem(version, date(2026, 12, 5)) is None) is accepted


def test_a_postgres_major_leaves_with_its_standard_support() -> None:
    assert postgres_version_problem("14", date(2027, 2, 27)) is None
    problem = postgres_version_problem("14", date(2027, 2, 28))
    assert problem is not None and "14" not in problem[1].split("(")[0] and "17" in problem[1]


def test_valkey_8_2_is_offered_with_the_valkey8_family() -> None:
    # ParameterGroups.Engine.html: "Valkey 8.2 parameter changes ... Parameter group family: valkey8".
    raw = section("paved:cache", {"engine": "valkey", "engineVersion": "8.2"})(shipped("prod"))
    assert load_stack_config(raw, "prod").cache.engine_version == "8.2"
    assert CACHE_ENGINE_VERSIONS[("valkey", "8.2")] == "valkey8"


@pytest.mark.parametrize(("engine", "version"), [("valkey", "5.0"), ("redis", "8.0"), ("redis", "5.0")])
def test_cache_versions_elasticache_does_not_offer_are_refused(engine: str, version: str) -> None:
    problem = cache_version_problem(engine, version)
    assert problem is not None and engine in problem[0]


CATALOGUE_CASES = [
    case(
        "prod",
        section("paved:database", {"instanceClass": "db.x9.huge"}),
        "paved:database.instanceClass",
        "rds",
    ),
    case("prod", section("paved:database", {"engineVersion": "13"}), "paved:database.engineVersion", "pg"),
    case("prod", section("paved:cache", {"nodeType": "cache.r99.mega"}), "paved:cache.nodeType", "node"),
    case(
        "prod", section("paved:cache", {"engineVersion": "5.0"}), "paved:cache.engineVersion", "cache-version"
    ),
    case(
        "prod",
        section("paved:cluster", {"nodeInstanceTypes": ["m7i.hugest"]}),
        "paved:cluster.nodeInstanceTypes[0]",
        "ec2",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), CATALOGUE_CASES)
def test_catalogue_keys_report_path_and_hint(stack, mutation, path) -> None:  # noqa: ANN001 pytest params
    assert_rule_reports_path_and_hint(stack, mutation, path)


def test_an_unknown_instance_class_is_one_problem_not_a_knock_on() -> None:
    # Before the catalogue, db.x9.huge passed the pattern and failed later as "memory unknown".
    raw = section("paved:database", {"instanceClass": "db.x9.huge"})(shipped("prod"))
    assert [problem.path for problem in problems_of(raw, "prod")] == ["paved:database.instanceClass"]
