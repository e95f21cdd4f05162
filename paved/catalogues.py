"""What AWS accepts, read from the catalogues libraries ship rather than written by hand here.

Each is loaded on first use, so a stack pays only for the catalogues its config needs.
"""

from __future__ import annotations

import difflib
import functools
import gzip
import json
import re
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import NamedTuple

# paved builds `arn:aws:` ARNs, aws-partition service principals and endpoints: the other partitions
# (GovCloud, China, ISO, the European Sovereign Cloud) would need each of those changed, end to end.
SUPPORTED_PARTITION = "aws"


@functools.cache
def _regions_by_partition() -> dict[str, frozenset[str]]:
    """botocore's partitions.json: each partition's regions, as the SDKs know them, without the pseudo-regions
    (`aws-global`) that its `regionRegex` leaves out. Read as a file (~3 ms), not through botocore's loaders,
    which cost ~0.15 s more per preview."""
    document = json.loads((files("botocore") / "data" / "partitions.json").read_text(encoding="utf-8"))
    return {
        entry["id"]: frozenset(name for name in entry["regions"] if re.match(entry["regionRegex"], name))
        for entry in document["partitions"]
    }


def regions(partition: str = SUPPORTED_PARTITION) -> frozenset[str]:
    return _regions_by_partition()[partition]


def partition_of(region: str) -> str | None:
    """The partition that lists `region`, or None for a region no partition lists."""
    return next((id_ for id_, names in _regions_by_partition().items() if region in names), None)


def region_problem(region: str) -> tuple[str, str] | None:
    """Why `region` cannot hold a paved stack, with a hint; None when it can."""
    partition = partition_of(region)
    if partition == SUPPORTED_PARTITION:
        return None
    if partition is not None:
        return (
            f"{region!r} is in the {partition} partition",
            f"paved supports the {SUPPORTED_PARTITION} partition only (its ARNs, service principals and "
            "endpoints); choose a commercial region such as eu-west-1",
        )
    near = difflib.get_close_matches(region, sorted(regions()), n=3, cutoff=0.75)
    return (
        f"{region!r} is not an AWS region",
        f"did you mean {' or '.join(near)}?" if near else "use a region code such as eu-west-1",
    )


# -- EC2 instance types, RDS instance classes, ElastiCache node types ------------------------------------


@functools.cache
def ec2_instance_types() -> frozenset[str]:
    """The provider's own catalogue: pulumi_aws's `ec2.InstanceType` enum. Its first use loads pulumi_aws.ec2,
    ~0.3 s: within a preview that is the program's cost anyway (its network loads the same module), but a
    config check alone (tests, the config fuzz) pays it here."""
    from pulumi_aws.ec2 import InstanceType

    return frozenset(member.value for member in InstanceType)


def instance_type_problem(instance_type: str) -> tuple[str, str] | None:
    if instance_type in ec2_instance_types():
        return None
    near = difflib.get_close_matches(instance_type, sorted(ec2_instance_types()), n=3, cutoff=0.8)
    return (
        f"{instance_type!r} is not an EC2 instance type",
        f"did you mean {' or '.join(near)}?" if near else "use e.g. m7i.large or m7g.large",
    )


# The EC2 families RDS for PostgreSQL runs on (an instance class is `db.` + an EC2 type of these families):
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html, the current
# general-purpose, memory-optimized and burstable families supported on every current PostgreSQL major.
# pulumi_aws's own `rds.InstanceType` enum stops at db.m6g/db.r6g, so it cannot be the catalogue here.
RDS_POSTGRES_FAMILIES = frozenset(
    {"t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i", "m8g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g"}
)


def rds_instance_class_problem(instance_class: str) -> tuple[str, str] | None:
    prefix, _, instance_type = instance_class.partition(".")
    family, _, size = instance_type.partition(".")
    # RDS offers its m and r families from large up, and no bare-metal sizes (the page above).
    rds_size = family.startswith("t") or size not in ("medium", "metal")
    offered = family in RDS_POSTGRES_FAMILIES and instance_type in ec2_instance_types() and rds_size
    if prefix == "db" and offered:
        return None
    if prefix == "db" and instance_type in ec2_instance_types():
        return (
            f"{instance_class!r} is not a class RDS for PostgreSQL offers on every current version",
            f"use one of the families {', '.join(sorted(RDS_POSTGRES_FAMILIES))} (e.g. db.r7g.large); "
            "RDS_POSTGRES_FAMILIES in paved/catalogues.py lists them with the RDS page they come from",
        )
    return (f"{instance_class!r} is not an RDS instance class", "use db. and an EC2 type, e.g. db.r7g.large")


_NODE_TYPE = re.compile(r"cache\.[a-z0-9]+\.[a-z0-9]+", re.ASCII)


@functools.cache
def elasticache_node_types() -> frozenset[str]:
    """ElastiCache's current-generation node types, as botocore's elasticache model documents them (the
    `CacheNode` shape, the text of https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CacheNode.html).
    Read from the newest model file with json (~8 ms), not through botocore's loaders. The Redis OSS
    minimum some families name (5.0.6) is below every version CACHE_ENGINE_VERSIONS offers (a test holds
    that), so any of these types suits any offered version."""
    service = files("botocore") / "data" / "elasticache"
    newest = max((entry for entry in service.iterdir() if entry.is_dir()), key=lambda entry: entry.name)
    model = json.loads(gzip.decompress((newest / "service-2.json.gz").read_bytes()))
    text = re.sub(r"<[^>]+>", " ", model["shapes"]["CacheNode"]["documentation"])
    parts = re.split(r"(Current generation|Previous generation|Additional node type info)", text)
    current = {
        node_type
        for marker, body in zip(parts[1::2], parts[2::2], strict=True)
        if marker == "Current generation"
        for node_type in _NODE_TYPE.findall(body)
    }
    # T2 nodes are previous generation since the model's text was written: no new clusters on them
    # (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html).
    return frozenset(node_type for node_type in current if not node_type.startswith("cache.t2."))


def cache_node_type_problem(node_type: str) -> tuple[str, str] | None:
    if node_type in elasticache_node_types():
        return None
    near = difflib.get_close_matches(node_type, sorted(elasticache_node_types()), n=3, cutoff=0.8)
    return (
        f"{node_type!r} is not a current-generation ElastiCache node type",
        f"did you mean {' or '.join(near)}?" if near else "use e.g. cache.r7g.large or cache.t4g.medium",
    )


# -- engine versions and their parameter group families -----------------------------------------------


def today() -> date:
    """The UTC day that the version calendars are read on; tests replace it to freeze the clock."""
    return datetime.now(UTC).date()


class PostgresMajor(NamedTuple):
    family: str  # the DB parameter group family
    end_of_standard_support: date  # RDS's date; RDS Extended Support (paid) follows


# RDS for PostgreSQL's major version calendar, checked 2026-12-05:
# https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html
# (RDS ends standard support on the last day of the February after the community's end of life). Majors past
# it are left out: creating one starts paid RDS Extended Support. Add a new major with its dates.
POSTGRES_MAJORS: dict[str, PostgresMajor] = {
    "14": PostgresMajor("postgres14", date(2027, 2, 28)),
    "15": PostgresMajor("postgres15", date(2028, 2, 29)),
    "16": PostgresMajor("postgres16", date(2029, 2, 28)),
    "17": PostgresMajor("postgres17", date(2030, 2, 28)),
    "18": PostgresMajor("postgres18", date(2031, 2, 28)),
}


def postgres_version_problem(version: str, day: date) -> tuple[str, str] | None:
    major = version.split(".")[0]
    supported = [name for name, dates in POSTGRES_MAJORS.items() if day < dates.end_of_standard_support]
    if major in supported:
        return None
    return (
        f"PostgreSQL {version} is not a major RDS offers in standard support",
        f'use one of {", ".join(supported)} (e.g. "17"); POSTGRES_MAJORS in paved/catalogues.py holds RDS\'s '
        "calendar",
    )


# CloudWatch Synthetics' browserless Node.js runtimes (`syn-nodejs-<major>.<minor>`: no browser, for HTTP
# checks), each with the day AWS deprecates it, when one is announced; a deprecated runtime creates no new
# canaries. Checked 2026-12-06 against "Runtime versions using Node.js" and "Runtime versions support policy"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Library_Nodejs.html,
# .../CloudWatch_Synthetics_Runtime_Support_Policy.html): the versions the pages were seen to list, none
# with a deprecation date (docs/aws-facts/canaries.md, section 1). AWS releases runtimes monthly and the
# lookup (DescribeRuntimeVersions) needs an account: add a release, or its deprecation day, when AWS
# announces it. syn-nodejs-3.0 is left out: it names the library @amzn/synthetics-core, and paved's script
# requires @aws/synthetics-core, the name from 3.1 on.
SYNTHETICS_NODEJS_RUNTIMES: dict[str, date | None] = {
    "syn-nodejs-3.1": None,
    "syn-nodejs-4.0": None,
    "syn-nodejs-4.1": None,
    "syn-nodejs-5.1": None,
    "syn-nodejs-5.4": None,
}


def synthetics_runtime_problem(runtime: str, day: date) -> tuple[str, str] | None:
    usable = [name for name, end in SYNTHETICS_NODEJS_RUNTIMES.items() if end is None or day < end]
    if runtime in usable:
        return None
    if runtime in SYNTHETICS_NODEJS_RUNTIMES:
        what = (
            f"{runtime} was deprecated on {SYNTHETICS_NODEJS_RUNTIMES[runtime]}: it creates no new canaries"
        )
    elif runtime.startswith("syn-") and not re.fullmatch(r"syn-nodejs-\d+\.\d+", runtime):
        what = f"{runtime} carries a browser: paved's uptime checks are plain HTTPS requests"
    else:
        what = f"{runtime!r} is not a browserless Synthetics runtime paved knows"
    return (
        what,
        f"use one of {', '.join(usable)}; SYNTHETICS_NODEJS_RUNTIMES in paved/catalogues.py holds AWS's "
        "calendar",
    )


# The ElastiCache versions paved creates, each with its cache parameter group family (the family names are
# the ones botocore's CreateCacheParameterGroup documents; Redis OSS 6's is `redis6.x`, not `redis6`).
# Versions: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html, checked
# 2026-12-05; Redis OSS before 6.2 is left out (end of life, or paid extended support). Valkey 8.2's family,
# valkey8: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html ("Valkey 8.2
# parameter changes ... Parameter group family: valkey8"). Valkey 9.0 waits for a family AWS documents
# (docs/aws-facts/catalogues.md).
CACHE_ENGINE_VERSIONS: dict[tuple[str, str], str] = {
    ("valkey", "7.2"): "valkey7",
    ("valkey", "8.0"): "valkey8",
    ("valkey", "8.1"): "valkey8",
    ("valkey", "8.2"): "valkey8",
    ("redis", "6.2"): "redis6.x",
    ("redis", "7.0"): "redis7",
    ("redis", "7.1"): "redis7",
}


def cache_version_problem(engine: str, version: str) -> tuple[str, str] | None:
    if (engine, version) in CACHE_ENGINE_VERSIONS:
        return None
    offered = [v for e, v in CACHE_ENGINE_VERSIONS if e == engine]
    return (
        f"{engine} {version} is not a version ElastiCache offers for new clusters",
        f'use one of {", ".join(offered)} (quoted, e.g. "{offered[-1]}")',
    )
