"""ElastiCache (Valkey or Redis OSS) for sessions and rate limiting: TLS only, AUTH token, encrypted, watched.

The AUTH token is generated (letters and digits: ElastiCache accepts only a few special characters), handed to
ElastiCache through the write-only `auth_token_wo`, and kept in the secret `<stack>/<name>/auth-token`.
Rotate it by raising `paved:cache.authTokenVersion`: with the ROTATE strategy ElastiCache accepts the old
and the new token until the next change, so apps pick up the new value without a failed connection.
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html

Eviction: the preset `maxmemory-policy` is `volatile-lru`, which evicts only keys with a TTL (sessions,
rate-limit windows) and never keys without one. A job queue such as BullMQ needs `noeviction`
(https://docs.bullmq.io/guide/going-to-production#max-memory-policy): set `paved:cache.maxmemoryPolicy`.
"""

from collections.abc import Iterator, Sequence
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import AfterValidator, Field

from components.dashboard import Metric, Widget
from components.data_stores import DataStoreContext
from components.kms import aws_context
from components.log_delivery import log_delivery_policy
from components.logs import log_group
from components.observability import AlarmRule, Alerting, threshold_within
from paved.catalogues import CACHE_ENGINE_VERSIONS, cache_node_type_problem, cache_version_problem
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import (
    ConfigModel,
    DailyWindow,
    LogRetention,
    RuleContext,
    Version,
    WeeklyWindow,
    matching,
    window_problems,
)

CACHE_PORT = 6379


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
    """Each cache node's alarms; each unit is in its key's name."""

    engine_cpu_percent: Annotated[
        AlarmRule, threshold_within(1, 100, "alarm when the engine's CPU exceeds this")
    ]
    memory_percent: Annotated[
        AlarmRule, threshold_within(1, 100, "alarm when memory used of maxmemory exceeds this")
    ]
    evictions: AlarmRule  # keys evicted per period
    # ElastiCache fixes maxclients at 65,000 (the parameter page linked above).
    connections: Annotated[AlarmRule, threshold_within(1, 65000, "alarm when client connections exceed this")]
    replication_lag_seconds: Annotated[
        AlarmRule, threshold_within(1, None, "alarm when a replica lags by more than this")
    ]


def _node_type(node_type: str) -> str:
    if problem := cache_node_type_problem(node_type):
        raise invalid(*problem)
    return node_type


class CacheArgs(ConfigModel):
    engine: Literal["valkey", "redis"]
    engine_version: Annotated[
        str, matching(r"\d+\.\d+", "an engine version", 'use a quoted major.minor version such as "8.0"')
    ]
    node_type: Annotated[str, AfterValidator(_node_type)]
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
    # What the apps keep in it: `cache` (losing a key costs a recomputation), `queue` (BullMQ and other Redis
    # queues: losing a key loses a job, or a lock, and a job runs twice), or `both`.
    use: Annotated[
        Literal["cache", "queue", "both"],
        Hint("cache: keys may be evicted; queue or both: nothing may be (BullMQ needs noeviction)"),
    ]
    log_retention_days: LogRetention
    auth_token_version: Version
    alarms: CacheAlarms

    @property
    def evicts(self) -> bool:
        return self.maxmemory_policy != "noeviction"

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        # An evicting policy drops keys when memory is full, TTL'd ones first under volatile-*: BullMQ's job
        # locks carry a TTL, so jobs stall or run twice. https://docs.bullmq.io/guide/going-to-production
        if self.use != "cache" and self.evicts:
            yield ConfigProblem(
                f"{path}.maxmemoryPolicy",
                f"{self.maxmemory_policy} evicts keys, and a {self.use} store must lose none",
                "set maxmemoryPolicy: noeviction; when memory is full, writes then fail rather than jobs "
                "vanishing, and the memory alarm warns first. Or give the queue a cache of its own",
            )
        if problem := cache_version_problem(self.engine, self.engine_version):
            yield ConfigProblem(f"{path}.engineVersion", *problem)
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


class Cache(pulumi.ComponentResource):
    """A replication group (cluster mode disabled: one shard, a primary and `replicasPerShard` replicas)."""

    primary_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    auth_secret_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: CacheArgs,
        *,
        store: DataStoreContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:cache:Cache", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        group_id = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        node_count = 1 + args.replicas_per_shard

        group = store.client_security_group(
            f"{name}-sg",
            description="Valkey/Redis: 6379 from the app security groups only",
            port=CACHE_PORT,
            parent=self,
        )
        subnet_group = aws.elasticache.SubnetGroup(
            name,
            description="paved: isolated subnets, no route to the internet",
            subnet_ids=store.subnet_ids,
            tags=dict(store.tags),
            opts=here,
        )
        parameters = aws.elasticache.ParameterGroup(
            name,
            family=CACHE_ENGINE_VERSIONS[(args.engine, args.engine_version)],
            description=f"paved: maxmemory-policy {args.maxmemory_policy}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(
                    name="maxmemory-policy", value=args.maxmemory_policy
                )
            ],
            tags=dict(store.tags),
            opts=here,
        )
        token = random.RandomPassword(
            f"{name}-auth-token",
            length=64,
            special=False,
            keepers={"version": str(args.auth_token_version)},
            opts=here,
        )
        secret = store.secrets.secret(
            f"{name}-auth-token",
            path=f"{name}/auth-token",
            description="AUTH token of the cache (clients connect with TLS and this token)",
            rotation="raise paved:cache.authTokenVersion",
            parent=self,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-auth-token",
            secret_id=secret.id,
            secret_string_wo=token.result,
            secret_string_wo_version=args.auth_token_version,
            opts=here,
        )
        logs = {
            log_type: log_group(
                f"{name}-{log_type}",
                name=f"/paved/{pulumi.get_stack()}/{name}/{log_type}",
                kms_key_arn=store.logs_key_arn,
                retention_days=args.log_retention_days,
                protect=store.protect,
                tags=store.tags,
                parent=self,
            )
            for log_type in ("slow-log", "engine-log")
        }
        notifications_arn, notifications_ready = store.alerting.elasticache_topic()
        replication_group = aws.elasticache.ReplicationGroup(
            name,
            replication_group_id=group_id,
            description=f"paved {pulumi.get_stack()}: sessions and rate limiting",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=CACHE_PORT,
            num_cache_clusters=node_count,
            # Failover promotes a replica, so it needs one; Multi-AZ places them in other AZs.
            # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
            automatic_failover_enabled=args.replicas_per_shard > 0,
            multi_az_enabled=args.multi_az,
            parameter_group_name=parameters.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=store.data_key_arn,
            # An AUTH token requires in-transit encryption; "required" refuses plain-text clients.
            # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token_wo=token.result,
            auth_token_wo_version=args.auth_token_version,
            auth_token_update_strategy="ROTATE",
            # Failovers and node replacements, to a topic ElastiCache can publish to.
            notification_topic_arn=notifications_arn,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window,
            maintenance_window=args.maintenance_window,
            final_snapshot_identifier=f"{group_id}-final",
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=logs[log_type].name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                )
                for log_type in logs
            ],
            tags=dict(store.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=store.protect,
                # ElastiCache delivers its logs through delivery.logs.amazonaws.com.
                depends_on=[
                    log_delivery_policy(name, [log.name for log in logs.values()], opts=here),
                    *notifications_ready,
                ],
            ),
        )
        node_ids = [f"{group_id}-{index:03d}" for index in range(1, node_count + 1)]
        self._alarms(store.alerting, name, args, node_ids)
        region = aws_context(pulumi.ResourceOptions(parent=self)).region

        def each(metric: str, stat: str) -> list[Metric]:
            return [
                Metric("AWS/ElastiCache", metric, {"CacheClusterId": node}, stat, node[-3:])
                for node in node_ids
            ]

        percent = {"min": 0, "max": 100}
        self.widgets = [
            Widget("Cache: engine CPU (%)", region, each("EngineCPUUtilization", "Average"), y_axis=percent),
            # Under noeviction nothing is evicted: memory is what warns before writes fail.
            Widget(
                "Cache: memory used (%)",
                region,
                each("DatabaseMemoryUsagePercentage", "Maximum"),
                y_axis=percent,
            ),
            Widget("Cache: connections", region, each("CurrConnections", "Maximum")),
        ]
        if args.evicts:
            self.widgets.append(Widget("Cache: evictions", region, each("Evictions", "Sum")))

        self.primary_endpoint = replication_group.primary_endpoint_address
        self.reader_endpoint = replication_group.reader_endpoint_address
        self.auth_secret_arn = secret.arn
        self.url = pulumi.Output.secret(
            pulumi.Output.format("rediss://:{0}@{1}:{2}", token.result, self.primary_endpoint, CACHE_PORT)
        )
        self.security_group_id = group.id
        self.register_outputs(
            {
                "primary_endpoint": self.primary_endpoint,
                "reader_endpoint": self.reader_endpoint,
                "auth_secret_arn": self.auth_secret_arn,
                "security_group_id": self.security_group_id,
            }
        )

    def _alarms(self, alerting: Alerting, name: str, args: CacheArgs, node_ids: Sequence[str]) -> None:
        # ElastiCache publishes per node, under CacheClusterId (a replication group's members are named
        # <group id>-001, -002, ...): https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
        limits = args.alarms
        cpu, memory, connections = limits.engine_cpu_percent, limits.memory_percent, limits.connections
        evictions, lag = limits.evictions, limits.replication_lag_seconds
        for index, node_id in enumerate(node_ids, start=1):
            node = f"Cache node {index}"
            thresholds = [
                cpu.threshold_for(
                    suffix="cpu",
                    description=f"{node}: engine CPU over {cpu.threshold:g}% {cpu.window_text}",
                    metric_name="EngineCPUUtilization",
                    statistic="Average",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="missing",
                ),
                memory.threshold_for(
                    suffix="memory",
                    description=f"{node}: memory over {memory.threshold:g}% of maxmemory "
                    f"{memory.window_text}",
                    metric_name="DatabaseMemoryUsagePercentage",
                    statistic="Maximum",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="missing",
                ),
                connections.threshold_for(
                    suffix="connections",
                    description=f"{node}: over {connections.threshold:g} client connections "
                    f"{connections.window_text}",
                    metric_name="CurrConnections",
                    statistic="Maximum",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="missing",
                ),
            ]
            if args.evicts:
                # Under noeviction nothing is evicted: memory is the signal, and this alarm would never fire.
                thresholds.append(
                    evictions.threshold_for(
                        suffix="evictions",
                        description=f"{node}: over {evictions.threshold:g} keys evicted "
                        f"{evictions.window_text}",
                        metric_name="Evictions",
                        statistic="Sum",
                        comparison_operator="GreaterThanThreshold",
                        treat_missing_data="notBreaching",  # no datapoint: nothing was evicted
                    )
                )
            if len(node_ids) > 1:
                # Only replicas report ReplicationLag, and the primary role moves on failover, so every
                # node gets the alarm and a node without datapoints (the primary) is fine.
                thresholds.append(
                    lag.threshold_for(
                        suffix="replication-lag",
                        description=f"{node}: replica lag over {lag.threshold:g} s {lag.window_text}",
                        metric_name="ReplicationLag",
                        statistic="Maximum",
                        comparison_operator="GreaterThanThreshold",
                        treat_missing_data="notBreaching",
                    )
                )
            alerting.threshold_alarms(
                f"{name}-{index}",
                thresholds,
                namespace="AWS/ElastiCache",
                dimensions={"CacheClusterId": node_id},
                parent=self,
                runbook_prefix=name,
            )
