"""RDS PostgreSQL: encrypted, private, TLS-only, backed up with PITR, watched, and pooled through RDS Proxy.

Master credentials, by what AWS allows ("Limitations for Secrets Manager integration", RDS User Guide:
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations):
- no read replicas and no blue/green (the staging preset): RDS manages the password in Secrets Manager,
  encrypted with the secrets key, and rotates it itself;
- otherwise (the prod preset has a replica): paved generates the password and hands it to RDS and to a
  secret `<stack>/database/master` through the write-only arguments `password_wo` and `secret_string_wo`.
  The generator (`random.RandomPassword`) keeps the value in Pulumi state as an encrypted secret. Rotate by
  raising `paved:database.passwordVersion`: a new password is generated and written to both.

Apps reach the database through RDS Proxy in prod (directly in staging), each as its own role
(components/database_users.py). One auth scheme per proxy: with only IAM users, end-to-end IAM
(`default_auth_scheme = IAM_AUTH`, no `auths`); with password users, `NONE` and one SECRETS auth per user
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html). README, "Database
credentials", has the whole picture.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import AfterValidator, Field

from components.dashboard import Metric, Widget
from components.data_stores import DataStoreContext
from components.database_users import DatabaseUser, database_url
from components.exemptions import exemption_tags
from components.iam import GrantedRole, policy_document, secrets_read_statements, service_role
from components.kms import aws_context
from components.logs import log_group
from components.observability import AlarmRule, AlarmSpec, threshold_within
from components.security_groups import port_rule
from paved.catalogues import POSTGRES_MAJORS, postgres_version_problem, rds_instance_class_problem, today
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import (
    ConfigModel,
    DailyWindow,
    LogRetention,
    RuleContext,
    Version,
    WeeklyWindow,
    matching,
    pinned_image,
    window_problems,
)

POSTGRES_PORT = 5432
MASTER_USERNAME = "paved_admin"
DATABASE_NAME = "app"
# Connections through the proxy verify its certificate, a public ACM one that every system trust store
# accepts. A direct connection (staging) is TLS without verification: RDS's own CA is not in those stores.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html#rds-proxy-security.tls
PROXY_TLS = {"sslmode": "verify-full"}
DIRECT_TLS = {"sslmode": "require"}
# App passwords are letters and digits only: nothing in a URL or a shell needs escaping.
_APP_PASSWORD_LENGTH = 40
# Characters RDS refuses in a master password: '/', '"', '@' and space
# (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html, MasterUserPassword).
_PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"
# Static parameters only change on reboot; the provider must be told, or AWS rejects the modification.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
_STATIC = "pending-reboot"
# What PostgreSQL logical replication, used by blue/green major-version upgrades, needs: slots above the
# number of databases, a WAL sender and a worker for each, and worker processes above the logical workers.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html
_BLUE_GREEN_PARAMETERS = {
    "rds.logical_replication": "1",
    "max_replication_slots": "20",
    "max_wal_senders": "35",
    "max_logical_replication_workers": "10",
    "max_worker_processes": "20",
}


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
    """The database's alarms; each unit is in its key's name."""

    cpu_percent: Annotated[AlarmRule, threshold_within(1, 100, "alarm when average CPU exceeds this")]
    free_storage_percent: Annotated[
        AlarmRule,
        threshold_within(1, 50, "alarm when free storage falls below this share of allocatedStorage"),
    ]
    freeable_memory_percent: Annotated[
        AlarmRule,
        threshold_within(1, 50, "alarm when freeable memory falls below this share of instance memory"),
    ]
    connections_percent: Annotated[
        AlarmRule, threshold_within(10, 100, "alarm when connections exceed this share of max_connections")
    ]
    read_latency_ms: Annotated[
        AlarmRule, threshold_within(1, None, "alarm when average read latency exceeds this")
    ]
    replica_lag_seconds: Annotated[
        AlarmRule, threshold_within(1, None, "alarm when a read replica lags by more than this")
    ]
    connection_failures: AlarmRule  # with the proxy: failed connections per period (0: the first)
    cpu_credit_balance: AlarmRule  # burstable (db.t*) classes: CPU credits left
    # One-day periods (longer than an alarm rule's), and CloudWatch evaluates at most 7 days for periods of
    # an hour or more: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    restore_drill_max_age_days: Annotated[
        int | None,
        Field(ge=1, le=7),
        Hint("alarm when no `paved drill restore` succeeded in this many days (1 to 7), or null for none"),
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


def _rds_instance_class(instance_class: str) -> str:
    if problem := rds_instance_class_problem(instance_class):
        raise invalid(*problem)
    return instance_class


def _postgres_version(version: str) -> str:
    if problem := postgres_version_problem(version, today()):
        raise invalid(*problem)
    return version


class DatabaseArgs(ConfigModel):
    instance_class: Annotated[str, AfterValidator(_rds_instance_class)]
    engine_version: Annotated[
        str,
        matching(r"\d{2}(?:\.\d+)?", "a PostgreSQL version", 'use a quoted major version such as "17"'),
        AfterValidator(_postgres_version),
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


# RDS event categories of a DB instance that need someone's attention (the rest report routine changes).
# Where `paved drill restore` reports its outcome (paved/drill.py emits it).
DRILL_METRIC_NAMESPACE = "paved/RestoreDrill"
_ONE_DAY_SECONDS = 86_400
RDS_ALERT_EVENT_CATEGORIES = ("failover", "failure", "low storage", "maintenance")
_FSBP_EVENT_SOURCES = ("cluster", "instance", "parameter-group", "security-group")


def parameter_group(
    name: str, args: DatabaseArgs, tags: Mapping[str, str], *, parent: pulumi.Resource
) -> aws.rds.ParameterGroup:
    """The database's parameters: TLS only, pg_stat_statements, slow-query and lock-wait logging, and
    what its config asks for. The DR region's restore target gets the same (parameter groups are
    regional)."""
    parameters: dict[str, tuple[str, str]] = {
        # Refuse unencrypted connections (the default from PostgreSQL 15 on; stated, not assumed).
        "rds.force_ssl": ("1", "immediate"),
        "shared_preload_libraries": ("pg_stat_statements", _STATIC),
        "pg_stat_statements.track": ("top", "immediate"),
        "log_min_duration_statement": (str(args.slow_query_ms), "immediate"),
        "log_lock_waits": ("1", "immediate"),
    }
    if args.max_connections is not None:
        parameters["max_connections"] = (str(args.max_connections), _STATIC)
    if args.blue_green_updates:
        parameters.update({key: (value, _STATIC) for key, value in _BLUE_GREEN_PARAMETERS.items()})
    return aws.rds.ParameterGroup(
        name,
        family=POSTGRES_MAJORS[args.engine_version.split(".")[0]].family,
        description="paved: TLS only, pg_stat_statements, slow-query and lock-wait logging",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(name=key, value=value, apply_method=method)
            for key, (value, method) in parameters.items()
        ],
        tags=dict(tags),
        # A new major version needs a new family: create the new group before dropping the old one.
        opts=pulumi.ResourceOptions(parent=parent),
    )


class Database(pulumi.ComponentResource):
    """The writer instance, its read replicas, parameter group, subnet group, security group, monitoring role,
    log groups, RDS Proxy (optional), cross-region automated-backup replication (with a DR region) and alarms.
    """

    instance_arn: pulumi.Output[str]
    instance_identifier: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    reader_endpoints: pulumi.Output[list[str]]
    proxy_endpoint: pulumi.Output[str] | None
    # Where apps connect (the proxy, or the instance without one), and with which TLS parameters.
    client_host: pulumi.Output[str]
    client_tls: dict[str, str]
    master_secret_arn: pulumi.Output[str]
    # Password users' secrets (JSON username, password, url) and IAM users' rds-db:connect ARNs, by role.
    user_secret_arns: dict[str, pulumi.Output[str]]
    user_connect_arns: dict[str, pulumi.Output[str]]
    security_group_id: pulumi.Output[str]
    subnet_group_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DatabaseArgs,
        *,
        store: DataStoreContext,
        dr_provider: aws.Provider | None,
        dr_data_key_arn: pulumi.Input[str] | None,
        users: Sequence[DatabaseUser] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:database:Database", name, None, opts)
        self._args = args
        self._store = store
        self._tags = dict(store.tags)
        self._identifier = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        here = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=store.protect)

        self._group = self._store.client_security_group(
            f"{name}-sg",
            description="PostgreSQL: 5432 from the app security groups only",
            port=POSTGRES_PORT,
            parent=self,
        )
        subnet_group = aws.rds.SubnetGroup(
            name,
            description="paved: isolated subnets, no route to the internet",
            subnet_ids=store.subnet_ids,
            tags=self._tags,
            opts=here,
        )
        parameters = parameter_group(name, args, self._tags, parent=self)
        monitoring_role = service_role(
            f"{name}-monitoring",
            service="monitoring.rds.amazonaws.com",
            description="Lets RDS enhanced monitoring publish OS metrics to CloudWatch Logs",
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html
            managed_policy_arns=["iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
            tags=self._tags,
            parent=self,
        )
        replica_identifiers = [
            f"{self._identifier}-replica-{index}" for index in range(1, args.read_replicas + 1)
        ]
        log_groups = [
            self._log_group(identifier, log_type)
            for identifier in (self._identifier, *replica_identifiers)
            for log_type in ("postgresql", "upgrade")
        ]
        password = None if args.managed_password else self._generated_password(name)
        retention = args.performance_insights_retention_days
        primary = aws.rds.Instance(
            name,
            identifier=self._identifier,
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            port=POSTGRES_PORT,
            allocated_storage=args.allocated_storage,
            max_allocated_storage=args.max_allocated_storage,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=store.data_key_arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self._group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            iam_database_authentication_enabled=True,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not store.protect,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self._identifier}-final",
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=args.allow_major_version_upgrade,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            blue_green_update=aws.rds.InstanceBlueGreenUpdateArgs(enabled=args.blue_green_updates),
            manage_master_user_password=True if password is None else None,
            master_user_secret_kms_key_id=store.secrets.kms_key_arn if password is None else None,
            password_wo=password.result if password else None,
            password_wo_version=args.password_version if password else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=store.data_key_arn,
            performance_insights_retention_period=retention,
            # Database Insights Advanced needs Performance Insights kept for at least 465 days (15 months);
            # shorter retention is the Standard mode.
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DatabaseInsights.html
            database_insights_mode="advanced" if retention >= 465 else "standard",
            tags=self._tags,
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=[*log_groups, *monitoring_role.ready])
            ),
        )
        replicas = [
            self._replica(identifier, primary, parameters, monitoring_role, stateful)
            for identifier in replica_identifiers
        ]
        self.master_secret_arn = self._master_secret(name, primary, password)
        password_users = [user for user in users if user.auth == "password"]
        user_secrets = {user.role: self._user_secret(user) for user in password_users}
        self.proxy_endpoint = None
        connect_prefix: pulumi.Output[str] = primary.resource_id
        proxy: aws.rds.Proxy | None = None
        if args.proxy:
            proxy = self._proxy(name, primary, user_secrets)
            self.proxy_endpoint = proxy.endpoint
            # IAM users of a proxy connect to `dbuser:<proxy id>/<user>`; the proxy exposes its id only as
            # the last segment of its ARN. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-auth.html
            connect_prefix = proxy.arn.apply(lambda arn: arn.rsplit(":", 1)[-1])
        self.client_host = self.proxy_endpoint if self.proxy_endpoint is not None else primary.address
        self.client_tls = PROXY_TLS if args.proxy else DIRECT_TLS
        for user in password_users:
            self._user_secret_value(user, user_secrets[user.role])
        self.user_secret_arns = {role: secret.arn for role, secret in user_secrets.items()}
        self.user_connect_arns = {
            user.role: self._dbuser_arn(connect_prefix, user.role) for user in users if user.auth == "iam"
        }
        if dr_provider is not None and dr_data_key_arn is not None:
            # Automated backups (and so PITR) replicated to the DR region, encrypted with a key of that region
            # (KMS keys are regional); the resource lives in the destination region.
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-backups-dr",
                source_db_instance_arn=primary.arn,
                kms_key_id=dr_data_key_arn,
                retention_period=args.backup_retention_days,
                opts=pulumi.ResourceOptions(parent=self, provider=dr_provider, protect=store.protect),
            )
        self._alarms(name, primary, replicas)
        if proxy is not None:
            self._proxy_alarms(name, proxy)
        self.widgets = self._widgets(primary, replicas, proxy)
        self._drill_alarm(name, primary)
        self._events(name, [primary, *replicas])

        self.instance_arn = primary.arn
        self.instance_identifier = primary.identifier
        self.endpoint = primary.address
        self.reader_endpoints = pulumi.Output.all(*(replica.address for replica in replicas))
        self.security_group_id = self._group.id
        self.subnet_group_name = subnet_group.name
        self.register_outputs(
            {
                "instance_arn": self.instance_arn,
                "endpoint": self.endpoint,
                "reader_endpoints": self.reader_endpoints,
                "proxy_endpoint": self.proxy_endpoint,
                "master_secret_arn": self.master_secret_arn,
                "security_group_id": self.security_group_id,
            }
        )

    def _log_group(self, identifier: str, log_type: str) -> aws.cloudwatch.LogGroup:
        # RDS publishes to /aws/rds/instance/<id>/<type> and would create the group itself, unencrypted and
        # kept forever; creating it first gives it our key and retention.
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html
        return log_group(
            f"{identifier}-{log_type}",
            name=f"/aws/rds/instance/{identifier}/{log_type}",
            kms_key_arn=self._store.logs_key_arn,
            retention_days=self._args.log_retention_days,
            protect=self._store.protect,
            tags=self._tags,
            parent=self,
        )

    def _generated_password(self, name: str) -> random.RandomPassword:
        return random.RandomPassword(
            f"{name}-master",
            length=40,
            override_special=_PASSWORD_SPECIALS,
            keepers={"version": str(self._args.password_version)},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _master_secret(
        self,
        name: str,
        primary: aws.rds.Instance,
        password: random.RandomPassword | None,
    ) -> pulumi.Output[str]:
        if password is None:
            return primary.master_user_secrets.apply(
                lambda found: (found[0].secret_arn or "") if found else ""
            )
        secret = self._store.secrets.secret(
            f"{name}-master",
            path=f"{name}/master",
            description="PostgreSQL master credentials: break-glass only, apps use IAM-authenticated roles",
            rotation="raise paved:database.passwordVersion",
            parent=self,
        )
        value = pulumi.Output.all(password.result, primary.address).apply(
            lambda parts: json.dumps(
                {
                    "engine": "postgres",
                    "username": MASTER_USERNAME,
                    "password": parts[0],
                    "host": parts[1],
                    "port": POSTGRES_PORT,
                    "dbname": DATABASE_NAME,
                }
            )
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-master",
            secret_id=secret.id,
            secret_string_wo=pulumi.Output.secret(value),
            secret_string_wo_version=self._args.password_version,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn

    def _user_secret(self, user: DatabaseUser) -> aws.secretsmanager.Secret:
        return self._store.secrets.secret(
            f"{self._identifier}-user-{user.app}",
            path=f"database/users/{user.role}",
            description=f"PostgreSQL login of app {user.app}: read by RDS Proxy and the app's secret sync",
            rotation=f"raise paved:apps[name={user.app}].database.passwordVersion",
            parent=self,
        )

    def _user_secret_value(self, user: DatabaseUser, secret: aws.secretsmanager.Secret) -> None:
        """`username` and `password` are what RDS Proxy reads; `url` is the app's DATABASE_URL."""
        password = random.RandomPassword(
            f"{self._identifier}-user-{user.app}",
            length=_APP_PASSWORD_LENGTH,
            special=False,
            keepers={"version": str(user.password_version)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        value = pulumi.Output.all(password.result, self.client_host).apply(
            lambda parts: json.dumps(
                {
                    "username": user.role,
                    "password": parts[0],
                    "url": database_url(
                        user,
                        host=parts[1],
                        port=POSTGRES_PORT,
                        database=DATABASE_NAME,
                        password=parts[0],
                        tls=self.client_tls,
                    ),
                }
            )
        )
        aws.secretsmanager.SecretVersion(
            f"{self._identifier}-user-{user.app}",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _drill_alarm(self, name: str, primary: aws.rds.Instance) -> None:
        """Fires when no restore drill of the primary succeeded in `restoreDrillMaxAgeDays` days: each
        `paved drill restore` reports Success (1 or 0) under its stack and source instance (paved/drill.py).
        A day without a report counts as a day without a success, so a new stack alarms until its first
        drill."""
        days = self._args.alarms.restore_drill_max_age_days
        if days is None:
            return
        self._store.alerting.alarm(
            f"{name}-restore-drill",
            AlarmSpec(
                description=f"No successful restore drill of the database in {days} days (paved drill)",
                namespace=DRILL_METRIC_NAMESPACE,
                metric_name="Success",
                dimensions={"Stack": pulumi.get_stack(), "DBInstance": primary.identifier},
                statistic="Maximum",
                period=_ONE_DAY_SECONDS,
                comparison_operator="LessThanThreshold",
                threshold=1,
                evaluation_periods=days,
                datapoints_to_alarm=days,
                treat_missing_data="breaching",
            ),
            parent=self,
        )

    def _events(self, name: str, instances: Sequence[aws.rds.Instance]) -> None:
        """RDS's own events for the stack's instances, and only those (not drills or other stacks' databases):
        failovers, failures, storage running out and maintenance, to the alerts topic.
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html"""
        alerting = self._store.alerting
        aws.rds.EventSubscription(
            name,
            name=f"{pulumi.get_stack()}-{name}",
            sns_topic=alerting.topic_arn,
            source_type="db-instance",
            source_ids=[instance.identifier for instance in instances],
            event_categories=list(RDS_ALERT_EVENT_CATEGORIES),
            enabled=True,
            # FSBP's RDS.19-22 want account-wide subscriptions; those would page this stack's on-call for
            # drills and for other stacks' databases.
            tags={
                **self._tags,
                **exemption_tags(
                    [f"rds-{kind}-event-notifications" for kind in _FSBP_EVENT_SOURCES],
                    "scoped to this stack's instances so drills and other stacks page no one",
                ),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=alerting.ready),
        )

    def _replica(
        self,
        identifier: str,
        primary: aws.rds.Instance,
        parameters: aws.rds.ParameterGroup,
        monitoring_role: GrantedRole,
        stateful: pulumi.ResourceOptions,
    ) -> aws.rds.Instance:
        args = self._args
        return aws.rds.Instance(
            identifier.removeprefix(f"{pulumi.get_project()}-{pulumi.get_stack()}-"),
            identifier=identifier,
            replicate_source_db=primary.identifier,
            instance_class=args.instance_class,
            max_allocated_storage=args.max_allocated_storage,
            storage_type="gp3",
            # A same-region replica is always encrypted with its source's key, and RDS refuses a KmsKeyId
            # for it: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html
            vpc_security_group_ids=[self._group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            # A single-AZ replica's reads stop with its AZ; a Multi-AZ one fails over like the writer
            # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html).
            multi_az=args.multi_az,
            iam_database_authentication_enabled=True,
            maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            # RDS takes no final snapshot of a read replica; the writer's backups cover its data.
            skip_final_snapshot=True,
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self._store.data_key_arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            # No database_insights_mode: CreateDBInstanceReadReplica does not take it, so a replica runs in
            # Standard mode. https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html
            tags=self._tags,
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=monitoring_role.ready)
            ),
        )

    def _proxy(
        self,
        name: str,
        primary: aws.rds.Instance,
        user_secrets: Mapping[str, aws.secretsmanager.Secret],
    ) -> aws.rds.Proxy:
        proxy_name = f"{name}-proxy"
        group = self._store.client_security_group(
            proxy_name + "-sg",
            description="RDS Proxy: 5432 from the app security groups, 5432 to the database",
            port=POSTGRES_PORT,
            parent=self,
        )
        port_rule(
            group,
            f"{proxy_name}-to-db",
            direction="to",
            port=POSTGRES_PORT,
            peer_id=self._group.id,
            tags=self._tags,
            parent=self,
        )
        port_rule(
            self._group,
            f"{name}-from-proxy",
            direction="from",
            port=POSTGRES_PORT,
            peer_id=group.id,
            tags=self._tags,
            parent=self,
        )
        role = service_role(
            proxy_name,
            service="rds.amazonaws.com",
            description="Lets RDS Proxy log in to the database as the apps' users",
            inline_policy=self._proxy_policy(primary, list(user_secrets.values())),
            tags=self._tags,
            parent=self,
        )
        auths = [
            aws.rds.ProxyAuthArgs(
                auth_scheme="SECRETS",
                # The user comes from the secret: AWS rejects a username beside SECRETS.
                secret_arn=secret.arn,
                iam_auth="DISABLED",
                client_password_auth_type="POSTGRES_SCRAM_SHA_256",
                description=f"database user {role_name}",
            )
            for role_name, secret in user_secrets.items()
        ]
        proxy = aws.rds.Proxy(
            proxy_name,
            name=f"{self._identifier}-proxy",
            engine_family="POSTGRESQL",
            default_auth_scheme="NONE" if auths else "IAM_AUTH",
            auths=auths or None,
            require_tls=True,
            idle_client_timeout=1800,
            debug_logging=False,
            role_arn=role.arn,
            vpc_subnet_ids=self._store.subnet_ids,
            vpc_security_group_ids=[group.id],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
        target_group = aws.rds.ProxyDefaultTargetGroup(
            proxy_name,
            db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=90,  # leaves room for admin sessions and the replicas' WAL senders
                max_idle_connections_percent=50,
                connection_borrow_timeout=120,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.rds.ProxyTarget(
            proxy_name,
            db_proxy_name=proxy.name,
            target_group_name=target_group.name,
            db_instance_identifier=primary.identifier,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return proxy

    def _proxy_policy(
        self, primary: aws.rds.Instance, user_secrets: Sequence[aws.secretsmanager.Secret]
    ) -> pulumi.Output[str]:
        """What the proxy's role needs for its one auth scheme.

        Password users: read exactly their secrets, and decrypt them only through Secrets Manager
        (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-secrets-arns.html). End-to-end IAM:
        connect as any user of this instance only, since the proxy logs in as the calling user
        (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-auth.html).
        """
        context = aws_context(pulumi.ResourceOptions(parent=self))
        if user_secrets:
            return policy_document(
                *secrets_read_statements(
                    [secret.arn for secret in user_secrets],
                    kms_key_arn=self._store.secrets.kms_key_arn,
                    region=context.region,
                )
            )
        connect = self._dbuser_arn(primary.resource_id, "*")
        return policy_document({"Effect": "Allow", "Action": "rds-db:connect", "Resource": connect})

    def _dbuser_arn(self, resource_id: pulumi.Input[str], user: str) -> pulumi.Output[str]:
        """The rds-db:connect resource for `user` of the instance or proxy with this resource id:
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html"""
        context = aws_context(pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat(
            "arn:",
            context.partition,
            ":rds-db:",
            context.region,
            ":",
            context.account,
            ":dbuser:",
            resource_id,
            "/",
            user,
        )

    def _widgets(
        self, primary: aws.rds.Instance, replicas: Sequence[aws.rds.Instance], proxy: aws.rds.Proxy | None
    ) -> list[Widget]:
        region = aws_context(pulumi.ResourceOptions(parent=self)).region
        instances = {"primary": primary, **{f"replica {i}": r for i, r in enumerate(replicas, start=1)}}

        def each(metric: str, stat: str) -> list[Metric]:
            return [
                Metric("AWS/RDS", metric, {"DBInstanceIdentifier": instance.identifier}, stat, label)
                for label, instance in instances.items()
            ]

        widgets = [
            Widget(
                "Database: CPU (%)", region, each("CPUUtilization", "Average"), y_axis={"min": 0, "max": 100}
            ),
            Widget("Database: connections", region, each("DatabaseConnections", "Maximum")),
            Widget("Database: free storage (bytes)", region, each("FreeStorageSpace", "Minimum")),
        ]
        if replicas:
            lag = [m for m in each("ReplicaLag", "Maximum") if m.label != "primary"]
            widgets.append(Widget("Database: replica lag (s)", region, lag))
        if proxy is not None:
            by_proxy = {"ProxyName": proxy.name}
            widgets.append(
                Widget(
                    "Database proxy: connections",
                    region,
                    [
                        Metric("AWS/RDS", "ClientConnections", by_proxy, "Maximum", "clients"),
                        Metric("AWS/RDS", "DatabaseConnections", by_proxy, "Maximum", "to the database"),
                        Metric(
                            "AWS/RDS", "ClientConnectionsSetupFailedAuth", by_proxy, "Sum", "failed logins"
                        ),
                    ],
                )
            )
        return widgets

    def _proxy_alarms(self, name: str, proxy: aws.rds.Proxy) -> None:
        """Connections that fail at the proxy: apps that cannot log in (a rotated or wrong password, a
        role the bootstrap has not made), and the proxy failing to open connections to the database (down,
        full, or refusing its credentials). Sums over the proxy's instances; no data is no attempt, which
        is not an outage (RDS publishes some proxy metrics only after its first connection).
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.monitoring.html"""
        rule = self._args.alarms.connection_failures
        failures = [
            (
                "auth-failures",
                "ClientConnectionsSetupFailedAuth",
                "Apps failing to log in to the database proxy",
            ),
            (
                "connect-failures",
                "DatabaseConnectionsSetupFailed",
                "The database proxy failing to open connections to the database",
            ),
        ]
        self._store.alerting.threshold_alarms(
            f"{name}-proxy",
            [
                rule.threshold_for(
                    suffix=suffix,
                    description=f"{what}: more than {rule.threshold:g} {rule.window_text}",
                    metric_name=metric,
                    statistic="Sum",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                )
                for suffix, metric, what in failures
            ],
            namespace="AWS/RDS",
            dimensions={"ProxyName": proxy.name},
            parent=self,
        )

    def _alarms(self, name: str, primary: aws.rds.Instance, replicas: Sequence[aws.rds.Instance]) -> None:
        args, limits, alerting = self._args, self._args.alarms, self._store.alerting
        # Missing data means the instance is not reporting (stopped, failing over): RDS events cover that,
        # so these alarms keep their state instead of flapping.
        above, below = "GreaterThanThreshold", "LessThanThreshold"
        cpu, storage, latency = limits.cpu_percent, limits.free_storage_percent, limits.read_latency_ms
        thresholds = [
            cpu.threshold_for(
                suffix="cpu",
                description=f"Database CPU above {cpu.threshold:g}% {cpu.window_text}",
                metric_name="CPUUtilization",
                statistic="Average",
                comparison_operator=above,
                treat_missing_data="missing",
            ),
            # Bytes, against the configured size: storage autoscaling grows the volume when 10% is left, so
            # this fires when growth cannot keep up or maxAllocatedStorage is reached.
            storage.threshold_for(
                suffix="free-storage",
                description=f"Database free storage below {storage.threshold:g}% of "
                f"{args.allocated_storage} GiB {storage.window_text}",
                metric_name="FreeStorageSpace",
                statistic="Minimum",
                comparison_operator=below,
                treat_missing_data="missing",
                scale=args.allocated_storage * 2**30 / 100,
            ),
            latency.threshold_for(
                suffix="read-latency",
                description=f"Database read latency above {latency.threshold:g} ms {latency.window_text}",
                metric_name="ReadLatency",
                statistic="Average",
                comparison_operator=above,
                treat_missing_data="missing",
                scale=1 / 1000,  # the metric is in seconds
            ),
        ]
        memory_gib = instance_memory_gib(args.instance_class)
        if memory_gib is not None:
            memory = limits.freeable_memory_percent
            thresholds.append(
                memory.threshold_for(
                    suffix="freeable-memory",
                    description=f"Database freeable memory below {memory.threshold:g}% of {memory_gib} GiB "
                    f"{memory.window_text}",
                    metric_name="FreeableMemory",
                    statistic="Minimum",
                    comparison_operator=below,
                    treat_missing_data="missing",
                    scale=memory_gib * 2**30 / 100,
                )
            )
        max_connections = args.effective_max_connections
        if max_connections is not None:
            connections = limits.connections_percent
            thresholds.append(
                replace(
                    connections.threshold_for(
                        suffix="connections",
                        description=f"Database connections above {connections.threshold:g}% of "
                        f"max_connections ({max_connections}) {connections.window_text}",
                        metric_name="DatabaseConnections",
                        statistic="Maximum",
                        comparison_operator=above,
                        treat_missing_data="missing",
                    ),
                    # A whole number of connections, as the metric counts them.
                    threshold=max_connections * connections.threshold // 100,
                )
            )
        if is_burstable(args.instance_class):
            balance = limits.cpu_credit_balance
            # Only burstable classes earn CPU credits; at zero they are throttled to baseline.
            thresholds.append(
                balance.threshold_for(
                    suffix="cpu-credits",
                    description=f"Database CPU credit balance below {balance.threshold:g} "
                    f"{balance.window_text}",
                    metric_name="CPUCreditBalance",
                    statistic="Minimum",
                    comparison_operator=below,
                    treat_missing_data="missing",
                )
            )
        alerting.threshold_alarms(
            name,
            thresholds,
            namespace="AWS/RDS",
            dimensions={"DBInstanceIdentifier": primary.identifier},
            parent=self,
        )
        lag_rule = limits.replica_lag_seconds
        lag = lag_rule.threshold_for(
            suffix="lag",
            description=f"Read replica lags over {lag_rule.threshold:g} s {lag_rule.window_text}",
            metric_name="ReplicaLag",
            statistic="Maximum",
            comparison_operator=above,
            treat_missing_data="missing",
        )
        for index, replica in enumerate(replicas, start=1):
            alerting.threshold_alarms(
                f"{name}-replica-{index}",
                [lag],
                namespace="AWS/RDS",
                dimensions={"DBInstanceIdentifier": replica.identifier},
                parent=self,
                runbook_prefix=f"{name}-replica",
            )
