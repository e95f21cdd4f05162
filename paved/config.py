"""Stack configuration: every `paved:*` key is parsed into typed models before any resource is declared.

A stack file sets only what differs from its environment's preset (`PRESETS`, `APP_PRESETS`). Each section is
validated on its own and then checked by its model's `violations()` rules, so one bad section never hides the
problems of another: `load_stack_config` raises a single `ConfigError` that lists every problem, each with its
camelCase key path (`paved:apps[1].replicas.min`) and a hint.
"""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, get_args
from urllib.parse import urlsplit

import pulumi
import yaml
from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter, ValidationError

from paved.errors import (
    REFERENCE,
    ConfigError,
    ConfigProblem,
    Hint,
    invalid,
    problem_from,
    show_value,
    unknown_key_hint,
    validated,
)
from paved.fields import (
    REGION_PATTERN,
    AppName,
    Cidr,
    ConfigModel,
    DailyWindow,
    DnsName,
    Environment,
    EnvVarName,
    LogRetention,
    Percent,
    Quantity,
    Region,
    RuleContext,
    Tags,
    UrlPath,
    Version,
    WeeklyWindow,
    cidr_network,
    distinct,
    matching,
    parse_quantity,
    pinned_image,
    window_problems,
)
from paved.presets import APP_PRESETS, PRESETS, SECRET_PRESET, deep_merge

T = TypeVar("T")
M = TypeVar("M", bound="ConfigModel")

NatGateways = Literal["single", "perAz"]
InterfaceEndpoint = Literal["secretsmanager", "ecr.api", "ecr.dkr", "sts", "logs", "kms", "ssm", "ec2"]
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
RateLimitWindowSeconds = Literal[60, 120, 300, 600]


def _restricted_cidr(value: str) -> str:
    if cidr_network(value).prefixlen == 0:
        raise invalid(
            f"{value} opens the Kubernetes API endpoint to the whole internet",
            "list only office/VPN CIDRs, or set publicEndpoint: false and reach the API from inside the VPC",
        )
    return value


# Address space that is never routed on the internet: RFC 1918, and RFC 6598 shared space, which VPNs such as
# Tailscale hand out to clients.
_PRIVATE_RANGES = tuple(
    IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _deployer_cidr(value: str) -> str:
    network = cidr_network(value)
    if network.prefixlen == 0:
        raise invalid(
            f"{value} would admit every address to the Kubernetes API",
            "list only the address range of your runner's subnet or your VPN's clients",
        )
    if not isinstance(network, IPv4Network) or not any(network.subnet_of(block) for block in _PRIVATE_RANGES):
        raise invalid(
            f"{value} is not a private IPv4 range",
            "a security group sees only addresses inside the VPC or arriving over a VPN: list those here; "
            "public addresses reach the API only through the public endpoint, so put them in "
            "paved:cluster.publicAccessCidrs with publicEndpoint: true",
        )
    return value


def _vpc_cidr(value: str) -> str:
    network = cidr_network(value)
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        raise invalid(
            f"{value} must be an IPv4 network from /16 to /20",
            "the VPC is split into public, private and database subnets in up to 3 AZs; "
            "smaller than /20 leaves too few pod IPs (VPC CNI), larger than /16 is not allowed by AWS",
        )
    return value


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise invalid(
            f"{value!r} is not an https:// URL", "SNS must deliver alerts over TLS; use https://..."
        )
    return value


_ACM_ARN = re.compile(
    rf"arn:aws[a-z-]*:acm:(?P<region>{REGION_PATTERN}):\d{{12}}:certificate/[0-9a-f-]{{36}}"
)


def certificate_region(arn: str) -> str:
    """The region of an ACM certificate ARN (which `AcmArn` has already validated)."""
    match = _ACM_ARN.fullmatch(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not an ACM certificate ARN")
    return match["region"]


def _in_us_east_1(arn: str) -> str:
    # CloudFront only uses ACM certificates from us-east-1:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    if certificate_region(arn) != "us-east-1":
        raise invalid(
            f"certificate is in {certificate_region(arn)}, not us-east-1",
            "CloudFront only accepts ACM certificates issued in us-east-1; request one there",
        )
    return arn


AcmArn = Annotated[
    str,
    matching(
        _ACM_ARN.pattern,
        "an ACM certificate ARN",
        "use arn:aws:acm:<region>:<account>:certificate/<id>",
    ),
]
Email = Annotated[str, matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address", "use e.g. ops@example.com")]


class DomainArgs(ConfigModel):
    name: DnsName
    hosted_zone_id: (
        Annotated[
            str, matching(r"Z[A-Z0-9]{1,32}", "a Route 53 hosted zone ID", "use e.g. Z0123456789ABCDEFGHIJ")
        ]
        | None
    ) = None
    certificate_arn: AcmArn | None = None
    cloudfront_certificate_arn: Annotated[AcmArn, AfterValidator(_in_us_east_1)] | None = None

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.hosted_zone_id is None:
            # Without a zone we cannot DNS-validate new certificates, so both must be supplied.
            missing = {
                "certificateArn": self.certificate_arn,
                "cloudfrontCertificateArn": self.cloudfront_certificate_arn,
            }
            for key in (key for key, arn in missing.items() if arn is None):
                yield ConfigProblem(
                    f"{path}.{key}",
                    "is required when hostedZoneId is not set",
                    "set hostedZoneId so paved can issue DNS-validated certificates, or supply both "
                    "certificateArn and cloudfrontCertificateArn",
                )
        if self.certificate_arn and ctx.region and certificate_region(self.certificate_arn) != ctx.region:
            yield ConfigProblem(
                f"{path}.certificateArn",
                f"certificate is in {certificate_region(self.certificate_arn)}, not aws:region {ctx.region}",
                "an Application Load Balancer only uses ACM certificates from its own region",
            )


class AlertsArgs(ConfigModel):
    emails: Annotated[list[Email], AfterValidator(distinct)]
    https_endpoints: Annotated[list[Annotated[str, AfterValidator(_https_url)]], AfterValidator(distinct)]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if ctx.is_prod and not (self.emails or self.https_endpoints):
            yield ConfigProblem(
                f"{path}.emails",
                "prod needs at least one alert subscription",
                "add an on-call address to emails (or an https endpoint such as your paging tool's webhook); "
                "alarms nobody receives do not page anyone",
            )


class NetworkArgs(ConfigModel):
    cidr: Annotated[str, AfterValidator(_vpc_cidr)]
    az_count: Annotated[int, Field(ge=2, le=3), Hint("use 2 or 3 Availability Zones; prod requires 3")]
    nat_gateways: NatGateways
    flow_log_retention_days: LogRetention
    interface_endpoints: Annotated[list[InterfaceEndpoint], AfterValidator(distinct)]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if not ctx.is_prod:
            return
        if self.az_count != 3:
            yield ConfigProblem(
                f"{path}.azCount",
                f"prod must span 3 Availability Zones, got {self.az_count}",
                "set azCount: 3 so losing one AZ leaves two thirds of the capacity (and quorum) running",
            )
        if self.nat_gateways != "perAz":
            yield ConfigProblem(
                f"{path}.natGateways",
                f"prod needs one NAT gateway per AZ, got {self.nat_gateways!r}",
                "set natGateways: perAz; with a single NAT gateway an AZ outage cuts egress for every AZ",
            )


# vCPUs by instance size and GiB of memory per vCPU by family letter, for the EC2-based classes RDS and
# ElastiCache offer (https://aws.amazon.com/rds/instance-types/); burstable t-classes are listed whole.
_VCPUS = {
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
    "24xlarge": 96,
    "32xlarge": 128,
    "48xlarge": 192,
}
_GIB_PER_VCPU = {"m": 4, "r": 8, "x": 16}
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}


def instance_memory_gib(instance_class: str) -> int | None:
    """Nominal memory of `db.r7g.large`-style classes; None where paved does not know the family."""
    _, family, size = instance_class.split(".")
    if family.startswith("t"):
        return _BURSTABLE_GIB.get(size)
    if family[0] in _GIB_PER_VCPU and size in _VCPUS:
        return _GIB_PER_VCPU[family[0]] * _VCPUS[size]
    return None


def is_burstable(instance_class: str) -> bool:
    return instance_class.split(".")[1].startswith("t")


class DatabaseAlarms(ConfigModel):
    cpu_percent: Percent
    free_storage_percent: Annotated[
        int, Field(ge=1, le=50), Hint("alarm when free storage falls below this share of allocatedStorage")
    ]
    freeable_memory_percent: Annotated[
        int, Field(ge=1, le=50), Hint("alarm when freeable memory falls below this share of instance memory")
    ]
    connections_percent: Annotated[
        int, Field(ge=10, le=100), Hint("alarm when connections exceed this share of max_connections")
    ]
    read_latency_ms: Annotated[int, Field(ge=1), Hint("alarm when average read latency exceeds this")]
    replica_lag_seconds: Annotated[int, Field(ge=1), Hint("alarm when a read replica lags by more than this")]
    cpu_credit_balance: Annotated[
        int, Field(ge=0), Hint("burstable (db.t*) classes: alarm when CPU credits fall below this")
    ]


def _insights_retention(days: int) -> int:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    # (PerformanceInsightsRetentionPeriod: 7, month * 31 for 1 to 23 months, or 731).
    if days in (7, 731) or (days % 31 == 0 and 1 <= days // 31 <= 23):
        return days
    raise invalid(
        f"{days} is not a Performance Insights retention period",
        "use 7, a multiple of 31 up to 713, or 731 (465 = 15 months is what Database Insights Advanced uses)",
    )


# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html
MonitoringInterval = Literal[1, 5, 10, 15, 30, 60]


class DatabaseArgs(ConfigModel):
    instance_class: Annotated[
        str, matching(r"db\.[a-z0-9-]+\.[a-z0-9]+", "an RDS instance class", "use e.g. db.r7g.large")
    ]
    engine_version: Annotated[
        str,
        matching(r"\d{2}(?:\.\d+)?", "a PostgreSQL version", 'use a quoted major version such as "17"'),
    ]
    # RDS gp3 storage limits: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html
    allocated_storage: Annotated[
        int, Field(ge=20, le=65536), Hint("RDS PostgreSQL gp3 storage is 20 to 65536 GiB")
    ]
    max_allocated_storage: Annotated[
        int, Field(ge=20, le=65536), Hint("storage autoscaling ceiling in GiB, at most 65536")
    ]
    multi_az: bool
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html
    backup_retention_days: Annotated[
        int,
        Field(ge=1, le=35),
        Hint("RDS keeps automated backups for at most 35 days; use AWS Backup for longer retention."),
    ]
    backup_window: DailyWindow
    maintenance_window: WeeklyWindow
    deletion_protection: bool
    read_replicas: Annotated[int, Field(ge=0, le=5), Hint("paved supports 0 to 5 read replicas")]
    blue_green_updates: bool
    allow_major_version_upgrade: bool
    proxy: bool
    monitoring_interval_seconds: Annotated[
        MonitoringInterval, Hint("enhanced monitoring samples every 1, 5, 10, 15, 30 or 60 seconds")
    ]
    performance_insights_retention_days: Annotated[
        int,
        AfterValidator(_insights_retention),
        Hint("7 (free tier), a multiple of 31 up to 713 (months), or 465 for Database Insights Advanced"),
    ]
    slow_query_ms: Annotated[
        int,
        Field(ge=0),
        Hint("log statements slower than this many milliseconds (log_min_duration_statement)"),
    ]
    max_connections: Annotated[int, Field(ge=10, le=262143)] | None = None
    log_retention_days: LogRetention
    password_version: Version
    bootstrap_image: Annotated[
        str,
        AfterValidator(pinned_image),
        Hint(
            "an image with psql 15 or later (it reads passwords with \\getenv), e.g. the official "
            "postgres image"
        ),
    ]
    alarms: DatabaseAlarms

    @property
    def managed_password(self) -> bool:
        """RDS manages the master password in Secrets Manager, except where AWS forbids it.

        RDS cannot manage the master password for an instance with read replicas or in a Blue/Green
        deployment ("Limitations for Secrets Manager integration", RDS User Guide:
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations).
        """
        return self.read_replicas == 0 and not self.blue_green_updates

    @property
    def effective_max_connections(self) -> int | None:
        """max_connections as set, or RDS's default LEAST(DBInstanceClassMemory/9531392, 5000) estimated
        from the class's nominal memory (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html).
        """
        if self.max_connections is not None:
            return self.max_connections
        memory = instance_memory_gib(self.instance_class)
        return None if memory is None else min(memory * 2**30 // 9531392, 5000)

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        # "Set the maximum storage threshold to at least 10% more than the current allocated storage":
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
        if self.max_allocated_storage * 10 < self.allocated_storage * 11:
            yield ConfigProblem(
                f"{path}.maxAllocatedStorage",
                f"must be at least 10% above allocatedStorage ({self.allocated_storage}), "
                f"got {self.max_allocated_storage}",
                f"RDS rejects a smaller autoscaling ceiling; use {-(-self.allocated_storage * 11 // 10)} or "
                "more (AWS recommends 26% above)",
            )
        if ctx.is_prod and not self.multi_az:
            yield ConfigProblem(
                f"{path}.multiAz",
                "prod databases must be Multi-AZ",
                "set multiAz: true; a single-AZ instance is down for a whole AZ outage or host failure",
            )
        if ctx.is_prod and not self.deletion_protection:
            yield ConfigProblem(
                f"{path}.deletionProtection",
                "prod databases must have deletion protection",
                "set deletionProtection: true so a mistaken destroy or replacement cannot drop the data",
            )
        if ctx.is_prod and self.backup_retention_days < 14:
            yield ConfigProblem(
                f"{path}.backupRetentionDays",
                f"prod keeps point-in-time recovery for at least 14 days, got {self.backup_retention_days}",
                "raise backupRetentionDays (the prod preset is 35, the RDS maximum)",
            )
        # The provider refuses blue_green_update on an instance with read replicas, and RDS Blue/Green
        # cannot switch over an instance whose replicas it does not recreate in the green environment.
        if self.blue_green_updates and self.read_replicas:
            yield ConfigProblem(
                f"{path}.blueGreenUpdates",
                f"blue/green updates cannot be used with read replicas (readReplicas: {self.read_replicas})",
                "set blueGreenUpdates: false (engine upgrades then follow the runbook in README) or "
                "readReplicas: 0",
            )
        if self.effective_max_connections is None:
            yield ConfigProblem(
                f"{path}.maxConnections",
                f"paved does not know the memory of {self.instance_class}, so it cannot derive "
                "max_connections for the connections alarm",
                "set maxConnections (it is also written to the parameter group)",
            )
        yield from window_problems(
            path,
            {"backupWindow": (self.backup_window, 30), "maintenanceWindow": (self.maintenance_window, 30)},
            ("backupWindow", "maintenanceWindow"),
        )


# maxmemory-policy values: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html
MaxmemoryPolicy = Literal[
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
]


class CacheAlarms(ConfigModel):
    engine_cpu_percent: Percent
    memory_percent: Percent
    evictions: Annotated[int, Field(ge=0), Hint("alarm when more keys than this are evicted in 5 minutes")]
    connections: Annotated[int, Field(ge=1, le=65000), Hint("alarm when client connections exceed this")]
    replication_lag_seconds: Annotated[int, Field(ge=1)]


class CacheArgs(ConfigModel):
    engine: Literal["valkey", "redis"]
    engine_version: Annotated[
        str, matching(r"\d+\.\d+", "an engine version", 'use a quoted major.minor version such as "8.0"')
    ]
    node_type: Annotated[
        str,
        matching(r"cache\.[a-z0-9-]+\.[a-z0-9]+", "an ElastiCache node type", "use e.g. cache.r7g.large"),
    ]
    replicas_per_shard: Annotated[
        int, Field(ge=0, le=5), Hint("ElastiCache allows 0 to 5 replicas per shard")
    ]
    multi_az: bool
    snapshot_retention_days: Annotated[
        int, Field(ge=0, le=35), Hint("ElastiCache keeps snapshots for at most 35 days; 0 disables them")
    ]
    snapshot_window: DailyWindow
    maintenance_window: WeeklyWindow
    maxmemory_policy: MaxmemoryPolicy
    log_retention_days: LogRetention
    auth_token_version: Version
    alarms: CacheAlarms

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        # Multi-AZ fails over to a replica, so it needs one:
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
        if self.multi_az and self.replicas_per_shard < 1:
            yield ConfigProblem(
                f"{path}.replicasPerShard",
                "Multi-AZ needs at least 1 replica per shard, got 0",
                "set replicasPerShard: 1 or more (AWS rejects Multi-AZ without a replica to fail over to)",
            )
        if ctx.is_prod and not self.multi_az:
            yield ConfigProblem(
                f"{path}.multiAz",
                "prod caches must be Multi-AZ",
                "set multiAz: true (and replicasPerShard ≥ 1) so node and AZ failures fail over",
            )
        if ctx.is_prod and self.snapshot_retention_days < 7:
            yield ConfigProblem(
                f"{path}.snapshotRetentionDays",
                f"prod keeps cache snapshots for at least 7 days, got {self.snapshot_retention_days}",
                "set snapshotRetentionDays: 7 or more",
            )
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
        # (SnapshotWindow: at least 60 minutes; maintenance window: at least 60 minutes).
        yield from window_problems(
            path,
            {
                "snapshotWindow": (self.snapshot_window, 60),
                "maintenanceWindow": (self.maintenance_window, 60),
            },
            ("snapshotWindow", "maintenanceWindow"),
        )


class SecretArgs(ConfigModel):
    """An app secret. paved never takes a value from config: it generates one, or leaves it to a human."""

    source: Literal["generated", "external", "cacheUrl"]
    length: Annotated[int, Field(ge=32, le=4096), Hint("generated secrets are 32 to 4096 characters")]
    version: Version
    description: Annotated[str, StringConstraints(max_length=2048)]


class BackupArgs(ConfigModel):
    enabled: bool
    vault_min_retention_days: Annotated[
        int, Field(ge=1, le=36500), Hint("AWS Backup vault lock: 1 to 36500 days")
    ]
    vault_max_retention_days: Annotated[
        int, Field(ge=1, le=36500), Hint("AWS Backup vault lock: 1 to 36500 days")
    ]
    daily_retention_days: Annotated[int, Field(ge=1, le=36500)]
    weekly_retention_days: Annotated[int, Field(ge=1, le=36500)]
    dr_copy_retention_days: Annotated[int, Field(ge=1, le=36500)]
    restore_testing: bool

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if ctx.is_prod and not self.enabled:
            yield ConfigProblem(
                f"{path}.enabled",
                "prod needs AWS Backup",
                "set enabled: true: it adds locked cross-region copies and tested restores to RDS's PITR",
            )
        if self.restore_testing and not self.enabled:
            yield ConfigProblem(
                f"{path}.restoreTesting",
                "restore testing needs backups",
                "set enabled: true, or restoreTesting: false",
            )
        if self.vault_min_retention_days > self.vault_max_retention_days:
            yield ConfigProblem(
                f"{path}.vaultMinRetentionDays",
                f"must be ≤ vaultMaxRetentionDays ({self.vault_max_retention_days}), "
                f"got {self.vault_min_retention_days}",
                "the vault lock keeps every recovery point between the two bounds",
            )
        # A locked vault fails every backup or copy job whose retention is outside its bounds:
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
        for key, days in (
            ("dailyRetentionDays", self.daily_retention_days),
            ("weeklyRetentionDays", self.weekly_retention_days),
            ("drCopyRetentionDays", self.dr_copy_retention_days),
        ):
            if not self.vault_min_retention_days <= days <= self.vault_max_retention_days:
                yield ConfigProblem(
                    f"{path}.{key}",
                    f"{days} days is outside the vault lock's {self.vault_min_retention_days} to "
                    f"{self.vault_max_retention_days} days",
                    "AWS Backup fails jobs whose retention is outside the vault lock; change the retention "
                    "or the lock bounds",
                )


class EksVersionDates(NamedTuple):
    """One row of EKS's Kubernetes release calendar; each date is a UTC day."""

    eks_release: date
    end_of_standard_support: date
    end_of_extended_support: date


# EKS's release calendar: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
# ("Amazon EKS Kubernetes release calendar"; docs/aws-facts/compute.md says which rows were read there). A
# version gets 14 months of standard support from its EKS release, then 12 months of extended support at six
# times the hourly price; extended billing starts at the beginning of the end date (UTC). Add each new version
# with its dates: config accepts only versions in standard support on the day it runs.
EKS_CALENDAR: Mapping[str, EksVersionDates] = {
    # Read on the AWS page (awsdocs/amazon-eks-user-guide, latest/ug/versioning/kubernetes-versions.adoc).
    "1.33": EksVersionDates(date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": EksVersionDates(date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    # Not read on the AWS page: 1.35 from endoflife.date/amazon-eks and AWS's sample-apex-skills calendar;
    # 1.36's EKS release from third parties, its end dates as the page's 14 + 12 month rule gives them.
    "1.35": EksVersionDates(date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    "1.36": EksVersionDates(date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
}


def today() -> date:
    """The UTC day, the calendar's time zone; tests replace it to freeze the clock."""
    return datetime.now(UTC).date()


def eks_versions_in_standard_support(day: date) -> tuple[str, ...]:
    """The calendar's versions that EKS offers in standard support on `day`."""
    return tuple(
        version
        for version, dates in EKS_CALENDAR.items()
        if dates.eks_release <= day < dates.end_of_standard_support
    )


def eks_version_problem(version: str, day: date) -> tuple[str, str] | None:
    """Why `version` can't be used on `day` (message, hint), or None when it is in standard support."""
    supported = eks_versions_in_standard_support(day)
    if version in supported:
        return None
    choices = ", ".join(
        f"{v} (standard support until {EKS_CALENDAR[v].end_of_standard_support})" for v in supported
    )
    dates = EKS_CALENDAR.get(version)
    if dates is None:
        return (
            f"EKS version {version} is not in paved's EKS calendar",
            f"use one of {choices}; a version EKS released since is added to EKS_CALENDAR in paved/config.py "
            "with its dates from the EKS release calendar",
        )
    if day < dates.eks_release:
        return (
            f"EKS version {version} is not released on EKS until {dates.eks_release}",
            f"use one of {choices}",
        )
    return (
        f"EKS version {version} left standard support on {dates.end_of_standard_support} (extended support, "
        f"at six times the hourly price, ends {dates.end_of_extended_support})",
        f"use one of {choices}, upgrading one minor version at a time. The cluster's upgradePolicy is "
        "STANDARD, so EKS upgrades a cluster still on this version by itself from that date; EKS can't "
        "downgrade, so a config that still names the old version can't be applied to it: set the version the "
        "cluster runs now",
    )


# The managed addons paved installs, in the order they may start: the first three run before any node, and
# vpc-cni takes its credentials from the Pod Identity agent.
AddonName = Literal[
    "eks-pod-identity-agent",
    "vpc-cni",
    "kube-proxy",
    "coredns",
    "aws-ebs-csi-driver",
    "amazon-cloudwatch-observability",
]
EKS_ADDONS: tuple[str, ...] = get_args(AddonName)
InstanceType = Annotated[
    str, matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type", "use e.g. m7i.large")
]
IamRoleArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+",
        "an IAM role ARN",
        "use arn:aws:iam::<account>:role/<name> (access entries take roles, not users or groups here)",
    ),
]
AddonVersion = Annotated[
    str, matching(r"v\d+\.\d+\.\d+-eksbuild\.\d+", "an EKS addon version", "use e.g. v1.19.2-eksbuild.1")
]


SecurityGroupId = Annotated[
    str, matching(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?", "a security group ID", "use e.g. sg-0123456789abcdef0")
]


class DeployerArgs(ConfigModel):
    """Who runs the Kubernetes half of `pulumi up` against the private API endpoint, admitted on 443."""

    security_group_ids: Annotated[
        list[SecurityGroupId],
        AfterValidator(distinct),
        Hint("list security groups of runners in the cluster's VPC; a group of another VPC matches nothing"),
    ]
    cidrs: Annotated[list[Annotated[str, AfterValidator(_deployer_cidr)]], AfterValidator(distinct)]

    @property
    def is_set(self) -> bool:
        return bool(self.security_group_ids or self.cidrs)


def is_graviton(instance_type: str) -> bool:
    """Whether an instance type is Arm (Graviton): a `g` after the generation digit (m7g, t4g, c7gn)."""
    return re.fullmatch(r"[a-z]+\d+g[a-z]*", instance_type.split(".")[0]) is not None


class SpotNodes(ConfigModel):
    enabled: bool
    instance_types: Annotated[
        list[InstanceType],
        Field(min_length=2),
        AfterValidator(distinct),
        Hint("spot capacity runs out per instance type: list at least two of the same size"),
    ]
    min: Annotated[int, Field(ge=0)]
    max: Annotated[int, Field(ge=1)]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.min > self.max:
            yield ConfigProblem(
                f"{path}.min", f"must be ≤ spot.max ({self.max}), got {self.min}", "raise max or lower min"
            )


class ClusterArgs(ConfigModel):
    version: Annotated[
        str,
        matching(
            r"1\.\d{2}",
            "a Kubernetes minor version",
            'use a quoted EKS version such as "1.36" (unquoted 1.30 is read as the number 1.3)',
        ),
    ]
    node_instance_types: Annotated[
        list[InstanceType],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("list at least one EC2 instance type for the managed node group"),
    ]
    node_min: Annotated[int, Field(ge=1), Hint("the cluster needs at least one node for its system pods")]
    node_max: Annotated[int, Field(ge=1)]
    node_desired: Annotated[int, Field(ge=1)]
    node_volume_gib: Annotated[
        int, Field(ge=20, le=16384), Hint("a gp3 root volume from 20 GiB (images and logs) to 16384 GiB")
    ]
    spot: SpotNodes
    public_endpoint: bool
    public_access_cidrs: Annotated[
        list[Annotated[str, AfterValidator(_restricted_cidr)]], AfterValidator(distinct)
    ]
    deployer: DeployerArgs
    admin_role_arns: Annotated[
        list[IamRoleArn],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint(
            "list the IAM roles that get cluster-admin through EKS access entries, including the role that "
            "runs `pulumi up`: nobody else can reach the Kubernetes API, so its objects could not be applied"
        ),
    ]
    log_retention_days: LogRetention
    create_autoscaling_service_role: Annotated[
        bool,
        Hint(
            "true only in an account that has never used EC2 Auto Scaling (no AWSServiceRoleForAutoScaling); "
            "creating it where it exists fails"
        ),
    ]
    addon_versions: Annotated[
        dict[AddonName, AddonVersion],
        Hint("pin an addon, e.g. vpc-cni: v1.19.2-eksbuild.1; others take EKS's default for the version"),
    ]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if problem := eks_version_problem(self.version, today()):
            yield ConfigProblem(f"{path}.version", *problem)
        order_hint = "EKS node groups require nodeMin ≤ nodeDesired ≤ nodeMax"
        if self.node_desired < self.node_min:
            yield ConfigProblem(
                f"{path}.nodeDesired",
                f"must be ≥ nodeMin ({self.node_min}), got {self.node_desired}",
                order_hint,
            )
        if self.node_desired > self.node_max:
            yield ConfigProblem(
                f"{path}.nodeDesired",
                f"must be ≤ nodeMax ({self.node_max}), got {self.node_desired}",
                order_hint,
            )
        yield from self.spot.violations(f"{path}.spot", ctx)
        # One launch template and AMI type serve both node groups, so they share one CPU architecture.
        groups = [("nodeInstanceTypes", self.node_instance_types)]
        if self.spot.enabled:
            groups.append(("spot.instanceTypes", self.spot.instance_types))
        graviton = is_graviton(self.node_instance_types[0])
        for key, types in groups:
            for index, instance_type in enumerate(types):
                if is_graviton(instance_type) != graviton:
                    yield ConfigProblem(
                        f"{path}.{key}[{index}]",
                        f"{instance_type} is {'Arm' if not graviton else 'x86'}, unlike "
                        f"{self.node_instance_types[0]}",
                        "use instance types of one architecture: all Graviton (m7g, c7g...) or all x86",
                    )
        # With no CIDRs EKS opens the public endpoint to 0.0.0.0/0:
        # https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
        if self.public_endpoint and not self.public_access_cidrs:
            yield ConfigProblem(
                f"{path}.publicAccessCidrs",
                "a public endpoint needs at least one allowed CIDR",
                "EKS would allow 0.0.0.0/0; list your office/VPN CIDRs or set publicEndpoint: false",
            )
        if ctx.is_prod and not self.public_endpoint and not self.deployer.is_set:
            yield ConfigProblem(
                f"{path}.deployer",
                "the Kubernetes API is private and nothing may reach it, so `pulumi up` cannot apply the "
                "cluster's Kubernetes objects",
                f"set {path}.deployer to one of: securityGroupIds with the security group of a runner inside "
                "the VPC; cidrs with your VPN's client range; or set publicEndpoint: true with the runner's "
                'public addresses in publicAccessCidrs (README, "Deploying to a private cluster")',
            )


# CloudFront quota "maximum length of the Content-Security-Policy header value": 1783 characters
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
_CSP_MAX_LENGTH = 1783


def _content_security_policy(value: str) -> str:
    if not value.strip() or re.search(r"[\r\n\x00-\x1f]", value):
        raise invalid(
            "the Content-Security-Policy must be one non-empty line",
            "write the directives on one line separated by '; ' (a header value cannot contain newlines)",
        )
    if len(value) > _CSP_MAX_LENGTH:
        raise invalid(
            f"the Content-Security-Policy is {len(value)} characters; CloudFront allows {_CSP_MAX_LENGTH}",
            "shorten it, e.g. by moving inline hashes to nonces",
        )
    return value


def _https_origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise invalid(
            f"{value!r} is not an https origin", "use scheme and host only, e.g. https://app.example.com"
        )
    return value.rstrip("/")


class EdgeArgs(ConfigModel):
    cloudfront: bool
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
    idle_timeout_seconds: Annotated[
        int, Field(ge=1, le=4000), Hint("the ALB idle timeout is 1 to 4000 seconds")
    ]
    # A rate-based rule's limit is at least 10 requests per window ("Rate-based rule statement"):
    # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
    rate_limit_per_ip: Annotated[
        int,
        Field(ge=10, le=2_000_000_000),
        Hint("AWS WAF rate limits are 10 to 2,000,000,000 requests per window; 600 per 60 s is 10 req/s"),
    ]
    rate_limit_window_seconds: RateLimitWindowSeconds
    # Viewers allowed in: the ALB's security group without CloudFront, a WAF IP-set rule on the
    # CloudFront web ACL with it (the ALB then admits CloudFront only).
    ingress_cidrs: Annotated[
        list[Cidr],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("list the source CIDRs allowed in; 0.0.0.0/0 allows everyone"),
    ]
    geo_block_countries: Annotated[
        list[Annotated[str, matching(r"[A-Z]{2}", "an ISO 3166-1 alpha-2 code", "use e.g. KP")]],
        AfterValidator(distinct),
    ]
    # Each upload path costs the web ACL 22 WCU (components/waf.py); five keep the busiest ACL (client-IP
    # rules, geo block, IPv4 and IPv6 allow-lists) inside the 1,500 WCU WAF includes in its base price.
    upload_paths: Annotated[
        list[UrlPath],
        Field(max_length=5),
        AfterValidator(distinct),
        Hint(
            "at most 5 path prefixes that accept request bodies over 8 KB (WAF counts them instead of "
            "blocking); each costs 22 of the web ACL's 1,500 WCU, so group uploads under a common prefix"
        ),
    ]
    asset_paths: Annotated[
        list[UrlPath],
        AfterValidator(distinct),
        Hint("path patterns CloudFront serves from the assets bucket, e.g. /_next/static/*"),
    ]
    content_security_policy: Annotated[str, AfterValidator(_content_security_policy)]
    cors_allowed_origins: Annotated[
        list[Annotated[str, AfterValidator(_https_origin)]], AfterValidator(distinct)
    ]
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
    assets_failover: bool
    access_log_retention_days: Annotated[
        int, Field(ge=1, le=3653), Hint("days to keep access logs: 1 to 3653")
    ]
    waf_log_retention_days: LogRetention
    deregistration_delay_seconds: Annotated[
        int,
        Field(ge=0, le=3600),
        Hint("the ALB waits 0 to 3600 s for in-flight requests of a removed target"),
    ]
    origin_secret_version: Version
    blocked_requests_alarm: Annotated[
        int, Field(ge=1), Hint("alarm when WAF blocks more requests than this in 5 minutes")
    ]


class HealthPaths(ConfigModel):
    startup: UrlPath
    readiness: UrlPath
    liveness: UrlPath


class Replicas(ConfigModel):
    min: Annotated[int, Field(ge=1), Hint("run at least 1 replica")]
    max: Annotated[int, Field(ge=1)]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.min > self.max:
            yield ConfigProblem(
                f"{path}.min",
                f"must be ≤ replicas.max ({self.max}), got {self.min}",
                "the autoscaler scales between min and max; raise max or lower min",
            )


class Resources(ConfigModel):
    cpu_request: Quantity
    cpu_limit: Quantity
    memory_request: Quantity
    memory_limit: Quantity

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        for kind, request, limit in (
            ("cpu", self.cpu_request, self.cpu_limit),
            ("memory", self.memory_request, self.memory_limit),
        ):
            if parse_quantity(limit) < parse_quantity(request):
                yield ConfigProblem(
                    f"{path}.{kind}Limit",
                    f"must be ≥ {kind}Request ({request}), got {limit}",
                    "Kubernetes rejects a pod whose limit is below its request",
                )


class PodDisruptionBudget(ConfigModel):
    max_unavailable: Annotated[
        int,
        Field(ge=1),
        Hint("maxUnavailable 0 blocks every node drain, so cluster upgrades and scale-downs hang"),
    ]


_SECRET_LIKE_ENV = re.compile(r"(SECRET|PASSWORD|TOKEN|KEY)$")
# Role names an app may not take: PostgreSQL reserves `pg_`, RDS its `rds` roles (rds_iam, rdsadmin,
# rdsproxyadmin...), and paved's master user is paved_admin.
# https://www.postgresql.org/docs/current/sql-createrole.html
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html
_RESERVED_ROLE = re.compile(r"pg_.*|rds.*|postgres|public|paved_admin")
# The connection string paved builds for an app (components/database_users.py).
DATABASE_URL_ENV = "DATABASE_URL"


class AppDatabase(ConfigModel):
    """How an app logs in to the stack's PostgreSQL (README, "Database credentials")."""

    auth: Annotated[
        Literal["password", "iam"],
        Hint(
            "password: a generated password in Secrets Manager, works with every driver (Prisma included); "
            "iam: short-lived IAM tokens from the AWS SDK's RDS signer, no password anywhere"
        ),
    ] = "password"
    read_schemas: Annotated[
        list[AppName],
        AfterValidator(distinct),
        Hint("names of other apps with a database whose schema this app may read (SELECT)"),
    ] = []
    migration_command: Annotated[
        list[Annotated[str, StringConstraints(min_length=1)]],
        Hint('the command that migrates the schema, as a list: ["npx", "prisma", "migrate", "deploy"]'),
    ] = []
    url_parameters: Annotated[
        dict[Annotated[str, matching(r"[A-Za-z_]+", "a URL parameter name", "e.g. schema")], str],
        Hint("extra query parameters for DATABASE_URL, e.g. schema: api for Prisma"),
    ] = {}
    password_version: Annotated[
        int, Field(ge=1), Hint("password auth: raise it by one to generate, set and roll out a new password")
    ] = 1


class AppArgs(ConfigModel):
    name: AppName
    image: Annotated[str, AfterValidator(pinned_image)]
    port: Annotated[int, Field(ge=1, le=65535), Hint("use a TCP port from 1 to 65535")]
    # How the ALB and the kubelet's probes talk to the app on `port` (README, Edge tier: ALB to pods).
    backend_protocol: Literal["HTTP", "HTTPS"]
    health_paths: HealthPaths
    replicas: Replicas
    resources: Resources
    public_path: UrlPath | None = None
    host: DnsName | None = None
    websocket: bool
    env: dict[EnvVarName, str]
    secrets: Annotated[
        list[EnvVarName],
        AfterValidator(distinct),
        Hint("secrets lists names (e.g. DATABASE_URL) of values kept in AWS Secrets Manager, never values"),
    ]
    pdb: PodDisruptionBudget
    shutdown_seconds: Annotated[
        int,
        Field(ge=1, le=600),
        Hint("seconds the app needs after SIGTERM to finish in-flight work and close connections"),
    ]
    writable_paths: Annotated[
        list[UrlPath],
        AfterValidator(distinct),
        Hint("the root filesystem is read-only; list the directories the app writes to, e.g. /tmp"),
    ]
    database: AppDatabase | None = None

    @property
    def is_public(self) -> bool:
        """Whether the app receives traffic through the load balancer (a worker does not)."""
        return self.public_path is not None or self.host is not None

    @property
    def database_role(self) -> str:
        """The app's own PostgreSQL role, which also names its schema: an unquoted identifier."""
        return self.name.replace("-", "_")

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        yield from self.replicas.violations(f"{path}.replicas", ctx)
        yield from self.resources.violations(f"{path}.resources", ctx)
        if ctx.is_prod and self.is_public and self.replicas.min < 2:
            yield ConfigProblem(
                f"{path}.replicas.min",
                f"a public app needs at least 2 replicas in prod, got {self.replicas.min}",
                "with one replica every deploy, node drain and AZ outage is downtime; set replicas.min: 2",
            )
        if self.websocket and not self.is_public:
            yield ConfigProblem(
                f"{path}.websocket",
                "a worker (no publicPath and no host) receives no traffic, so it cannot serve websockets",
                "remove websocket, or give the app a publicPath or host",
            )
        if self.database is not None:
            yield from self._database_violations(path)
        for key in filter(_SECRET_LIKE_ENV.search, (key.upper() for key in self.env)):
            yield ConfigProblem(
                f"{path}.env.{key}",
                f"{key} looks like a secret",
                f"move it to secrets: [{key}] and store the value in AWS Secrets Manager; env values are "
                "plain text in the stack file and the pod spec",
            )

    def _database_violations(self, path: str) -> Iterator[ConfigProblem]:
        if DATABASE_URL_ENV in self.secrets or DATABASE_URL_ENV in self.env:
            where = "secrets" if DATABASE_URL_ENV in self.secrets else f"env.{DATABASE_URL_ENV}"
            yield ConfigProblem(
                f"{path}.{where}",
                f"{DATABASE_URL_ENV} is built by paved for an app with `database`",
                f"remove {DATABASE_URL_ENV} here; paved gives the app its own role and connection string",
            )
        if _RESERVED_ROLE.fullmatch(self.database_role):
            yield ConfigProblem(
                f"{path}.name",
                f"an app with a database gets the PostgreSQL role {self.database_role!r}, a reserved name",
                "rename the app: PostgreSQL reserves pg_*, RDS rds*, and paved uses paved_admin",
            )


@dataclass(frozen=True)
class StackConfig:
    environment: Environment
    region: str
    dr_region: str | None
    domain: DomainArgs
    alerts: AlertsArgs
    network: NetworkArgs
    database: DatabaseArgs
    cache: CacheArgs
    backup: BackupArgs
    secrets: Mapping[str, SecretArgs]
    cluster: ClusterArgs
    edge: EdgeArgs
    apps: tuple[AppArgs, ...]
    tags: Mapping[str, str]  # effective tags: the user's plus `environment` and `managed-by`

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


SECTION_KEYS = ("environment", "allowEnvironmentMismatch", "drRegion", *PRESETS["prod"])
_RESERVED_TAGS = ("environment", "managed-by")


_ENVIRONMENT: TypeAdapter[Environment] = TypeAdapter(Environment)
_REGION: TypeAdapter[str] = TypeAdapter(Region)
_DR_REGION: TypeAdapter[str | None] = TypeAdapter(Region | None)
_TAGS: TypeAdapter[dict[str, str]] = TypeAdapter(Tags)
_ENV_VAR_NAME: TypeAdapter[str] = TypeAdapter(EnvVarName)
_ALLOW_MISMATCH: TypeAdapter[bool] = TypeAdapter(bool)


def _decode(value: Any) -> Any:
    """The Pulumi runtime hands object and list values over as JSON strings."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value  # left as a string, so validation reports the wrong type
    return value


def _paved_values(raw: Mapping[str, Any], problems: list[ConfigProblem]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace != "paved":
            continue
        if name in SECTION_KEYS:
            values[name] = _decode(value)
        else:
            known = [f"paved:{section}" for section in SECTION_KEYS]
            problems.append(ConfigProblem(str(key), "unknown key", unknown_key_hint(str(key), known)))
    return values


def _required(
    values: Mapping[str, Any], key: str, path: str, hint: str, problems: list[ConfigProblem]
) -> Any:
    if key not in values:
        problems.append(ConfigProblem(path, "is required", hint))
    return values.get(key)


def _with_preset(values: Mapping[str, Any], key: str, ctx: RuleContext) -> Any:
    """The stack file's value for `key` merged over the preset's (a key that is not set keeps the preset)."""
    preset = PRESETS[ctx.environment][key]
    return deep_merge(preset, values[key]) if key in values else preset


def _section(
    model: type[M], key: str, values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]
) -> M | None:
    path = f"paved:{key}"
    data = _with_preset(values, key, ctx)
    try:
        section = model.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        problems.extend(problem_from(detail, path, model) for detail in details)
        problems.extend(_rules_despite_errors(model, key, data, details, ctx))
        return None
    problems.extend(section.violations(path, ctx))
    return section


def _rules_despite_errors(
    model: type[M], key: str, data: Any, details: Sequence[Any], ctx: RuleContext
) -> list[ConfigProblem]:
    """The section's rules, judged on the fields that did parse, so one typo hides no other problem.

    Failed keys fall back to their preset value; a rule that names a failed key is dropped, because it
    would judge a value the stack file does not hold.
    """
    if not isinstance(data, Mapping):
        return []
    failed = {str(detail["loc"][0]) for detail in details if detail.get("loc")}
    preset = PRESETS[ctx.environment][key]
    repaired = {name: value for name, value in data.items() if name not in failed}
    repaired.update({name: preset[name] for name in failed if name in preset})
    try:
        section = model.model_validate(repaired)
    except ValidationError:
        return []
    return [
        problem
        for problem in section.violations(f"paved:{key}", ctx)
        if not any(name in problem.path or name in problem.message for name in failed)
    ]


def _apps(values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]) -> dict[int, AppArgs]:
    """The apps that parsed, by position; each app is validated on its own so one bad app hides nothing."""
    items = _with_preset(values, "apps", ctx)
    if not isinstance(items, list):
        problems.append(
            ConfigProblem("paved:apps", f"must be a list of apps, got {show_value(items)}", "use a YAML list")
        )
        return {}
    apps: dict[int, AppArgs] = {}
    for index, item in enumerate(items):
        path = f"paved:apps[{index}]"
        app = validated(
            AppArgs.model_validate, deep_merge(APP_PRESETS[ctx.environment], item), path, problems, AppArgs
        )
        if app is not None:
            problems.extend(app.violations(path, ctx))
            apps[index] = app
    return apps


def _secrets(
    values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]
) -> dict[str, SecretArgs] | None:
    items = _with_preset(values, "secrets", ctx)
    if not isinstance(items, Mapping):
        problems.append(
            ConfigProblem(
                "paved:secrets", f"must be a map of secret names, got {show_value(items)}", "use a YAML map"
            )
        )
        return None
    secrets: dict[str, SecretArgs] = {}
    for name, item in items.items():
        path = f"paved:secrets.{name}"
        validated(_ENV_VAR_NAME.validate_python, name, path, problems)
        secret = validated(
            SecretArgs.model_validate, deep_merge(SECRET_PRESET, item or {}), path, problems, SecretArgs
        )
        if secret is not None:
            secrets[str(name)] = secret
    return secrets


def _secret_ref_violations(
    apps: Mapping[int, AppArgs], secrets: Mapping[str, SecretArgs] | None
) -> Iterator[ConfigProblem]:
    if secrets is None:
        return
    for index, app in apps.items():
        for position, name in enumerate(app.secrets):
            if name not in secrets:
                yield ConfigProblem(
                    f"paved:apps[{index}].secrets[{position}]",
                    f"{name} is not declared in paved:secrets",
                    f"add `{name}: {{}}` (you put the value in Secrets Manager) or "
                    f"`{name}: {{source: generated}}` to paved:secrets",
                )


def _dr_region_violations(dr_region: str | None, ctx: RuleContext) -> Iterator[ConfigProblem]:
    if ctx.is_prod and dr_region is None:
        yield ConfigProblem(
            "paved:drRegion",
            "is required in prod",
            "set paved:drRegion to a second region (e.g. eu-central-1) for cross-region backup copies",
        )
    if dr_region is not None and dr_region == ctx.region:
        yield ConfigProblem(
            "paved:drRegion",
            f"must differ from aws:region ({ctx.region})",
            "a disaster-recovery copy in the same region is lost with it; pick another region",
        )


def _app_list_violations(apps: Mapping[int, AppArgs], domain: DomainArgs | None) -> Iterator[ConfigProblem]:
    seen: set[str] = set()
    for index, app in apps.items():
        if app.name in seen:
            yield ConfigProblem(
                f"paved:apps[{index}].name",
                f"duplicate app name {app.name!r}",
                "app names name Kubernetes objects and AWS resources; make each one unique",
            )
        seen.add(app.name)
        if domain and app.host and not (app.host == domain.name or app.host.endswith(f".{domain.name}")):
            yield ConfigProblem(
                f"paved:apps[{index}].host",
                f"{app.host} is not under paved:domain.name ({domain.name})",
                "the hosted zone and certificates only cover the domain and its subdomains",
            )


def _database_user_violations(
    apps: Mapping[int, AppArgs], database: DatabaseArgs | None
) -> Iterator[ConfigProblem]:
    users = {index: app for index, app in apps.items() if app.database is not None}
    names = {app.name for app in users.values()}
    for index, app in users.items():
        assert app.database is not None
        for position, other in enumerate(app.database.read_schemas):
            if other == app.name or other not in names:
                yield ConfigProblem(
                    f"paved:apps[{index}].database.readSchemas[{position}]",
                    f"{other!r} is not another app with a database",
                    "list apps that have `database` (here: "
                    f"{', '.join(sorted(names - {app.name})) or 'none'})",
                )
    # AWS documents no behaviour for a proxy that mixes end-to-end IAM with password users
    # (CreateDBProxy: DefaultAuthScheme IAM_AUTH, or NONE with an Auth entry per user):
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html
    schemes = {app.database.auth for app in users.values() if app.database is not None}
    if database is not None and database.proxy and len(schemes) > 1:
        for index, app in users.items():
            if app.database is not None and app.database.auth == "iam":
                yield ConfigProblem(
                    f"paved:apps[{index}].database.auth",
                    "RDS Proxy takes one auth scheme: these apps mix iam and password",
                    "use one auth for every app behind the proxy (password works with every driver), or "
                    "set paved:database.proxy: false",
                )


def _tag_violations(tags: Mapping[str, str]) -> Iterator[ConfigProblem]:
    for key in tags:
        if key in _RESERVED_TAGS or key.lower().startswith("aws:"):
            yield ConfigProblem(
                f"paved:tags.{key}",
                "is a reserved tag key",
                f"paved sets {', '.join(_RESERVED_TAGS)} itself and AWS reserves the aws: prefix; remove it",
            )


# The first word of a stack's name (before `-`, `_` or `.`) that promises an environment: a stack named
# `prod`, `prod-eu` or `production` is prod. Other names (`dev`, `demo`, `eu-prod`) promise nothing.
_ENVIRONMENT_OF_STACK_WORD: dict[str, Environment] = {
    "prod": "prod",
    "production": "prod",
    "staging": "staging",
    "stage": "staging",
}


def environment_of_stack(stack: str) -> Environment | None:
    """The environment a stack's name promises, or None if the name promises none."""
    return _ENVIRONMENT_OF_STACK_WORD.get(re.split(r"[-_.]", stack.lower(), maxsplit=1)[0])


def _stack_name_violations(
    stack: str, environment: Environment | None, allow_mismatch: bool | None
) -> Iterator[ConfigProblem]:
    # The environment switches every deletion guard (protect, deletion protection, final backups), so a
    # prod stack left with `environment: staging` would silently lose them all.
    promised = environment_of_stack(stack)
    if promised is None or environment is None or environment == promised or allow_mismatch:
        return
    yield ConfigProblem(
        "paved:environment",
        f"is {environment}, but the stack is named {stack!r}, which says {promised}",
        f"set paved:environment: {promised}; if stack {stack!r} really is {environment}, say so with "
        "paved:allowEnvironmentMismatch: true",
    )


def _parsed(value: T | None) -> T:
    # Only called once no problem was reported, and every None was reported as a problem.
    if value is None:
        raise AssertionError("configuration value missing although no problem was reported")
    return value


def load_stack_config(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Parse a stack's config keys (`paved:*`, `aws:region`); raise one ConfigError listing every problem."""
    problems: list[ConfigProblem] = []
    values = _paved_values(raw, problems)
    environment: Environment | None = validated(
        _ENVIRONMENT.validate_python,
        _required(
            values, "environment", "paved:environment", "set paved:environment: staging or prod", problems
        ),
        "paved:environment",
        problems,
    )
    region = validated(
        _REGION.validate_python,
        _required(
            raw,
            "aws:region",
            "aws:region",
            "set aws:region, e.g. `pulumi config set aws:region eu-west-1`",
            problems,
        ),
        "aws:region",
        problems,
    )
    allow_mismatch = validated(
        _ALLOW_MISMATCH.validate_python,
        values.get("allowEnvironmentMismatch", False),
        "paved:allowEnvironmentMismatch",
        problems,
    )
    problems.extend(_stack_name_violations(stack, environment, allow_mismatch))
    # With an invalid environment, the rest is still checked (against the more lenient staging preset).
    preset: Environment = environment or "staging"
    ctx = RuleContext(preset, region)
    dr_region = validated(_DR_REGION.validate_python, values.get("drRegion"), "paved:drRegion", problems)
    domain = _section(DomainArgs, "domain", values, ctx, problems)
    alerts = _section(AlertsArgs, "alerts", values, ctx, problems)
    network = _section(NetworkArgs, "network", values, ctx, problems)
    database = _section(DatabaseArgs, "database", values, ctx, problems)
    cache = _section(CacheArgs, "cache", values, ctx, problems)
    backup = _section(BackupArgs, "backup", values, ctx, problems)
    secrets = _secrets(values, ctx, problems)
    cluster = _section(ClusterArgs, "cluster", values, ctx, problems)
    edge = _section(EdgeArgs, "edge", values, ctx, problems)
    apps = _apps(values, ctx, problems)
    tags = validated(
        _TAGS.validate_python,
        _with_preset(values, "tags", ctx),
        "paved:tags",
        problems,
    )
    problems.extend(_dr_region_violations(dr_region, ctx))
    if edge is not None and edge.cloudfront and edge.assets_failover and dr_region is None:
        problems.append(
            ConfigProblem(
                "paved:edge.assetsFailover",
                "an assets failover bucket needs paved:drRegion",
                "set paved:drRegion (the failover bucket lives there) or assetsFailover: false",
            )
        )
    problems.extend(_app_list_violations(apps, domain))
    problems.extend(_secret_ref_violations(apps, secrets))
    problems.extend(_database_user_violations(apps, database))
    problems.extend(_tag_violations(tags or {}))
    if problems:
        raise ConfigError(stack, problems)
    return StackConfig(
        environment=ctx.environment,
        region=_parsed(region),
        dr_region=dr_region,
        domain=_parsed(domain),
        alerts=_parsed(alerts),
        network=_parsed(network),
        database=_parsed(database),
        cache=_parsed(cache),
        backup=_parsed(backup),
        secrets=_parsed(secrets),
        cluster=_parsed(cluster),
        edge=_parsed(edge),
        apps=tuple(apps.values()),
        tags={"environment": ctx.environment, "managed-by": "paved", **_parsed(tags)},
    )


def load_from_pulumi() -> StackConfig:
    """The running stack's config (the language host passes it in PULUMI_CONFIG; set_all_config adds more)."""
    raw = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return load_stack_config(raw, pulumi.get_stack())


def load_stack_file(path: Path, stack: str) -> StackConfig:
    """Load a Pulumi.<stack>.yaml's `config:` map (for tests and tools)."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            stack, [ConfigProblem("config", "must be a map of config keys", f"see {REFERENCE}")]
        )
    return load_stack_config(config, stack)
