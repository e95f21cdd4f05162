"""One app from `paved:apps` on EKS: its namespace, identity, secrets, Deployment, autoscaling, disruption
budget, network policies, its database login and migrations, and, for apps with a public path, the binding
to its ALB target group. Also the Job that creates the apps' database roles (DatabaseBootstrap).

Rollouts never drop a request: a new pod takes traffic only once its readiness probe passes
(maxUnavailable 0), and a terminating pod first sleeps in preStop for longer than the target group's
deregistration delay, so the ALB has stopped sending to it before it sees SIGTERM, then gets
`shutdownSeconds` to finish in-flight work. Namespaces of public apps inject the load balancer controller's
pod readiness gate, so a rollout also waits until the ALB sees the new pod healthy.

Order on `pulumi up`: the role bootstrap Job, then the app's migration Job (awaited: a failed migration fails
the update and the old revision keeps serving), then the Deployment.
"""

import json
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import AfterValidator, Field, StringConstraints

from components.cluster import (
    APP_METRICS_NAMESPACE,
    APPLICATION_SIGNALS_PORTS,
    KSM_LAST_SCHEDULE,
    KSM_LAST_SUCCESS,
    METRICS_SCRAPER,
    NODE_AGENT,
    OBSERVABILITY_NAMESPACE,
    MetricsTarget,
    agent_pods,
)
from components.controllers import RELOAD_ON_SECRETS
from components.dashboard import Metric, Widget
from components.database_users import DatabaseAccess, database_url, script_digest
from components.email import ENV_NAMES as EMAIL_ENV
from components.email import EmailAccess
from components.iam import GrantedRole, policy_document, secrets_read_statements, service_account_role
from components.observability import AlarmRule, AlarmSpec, Alerting, threshold_within
from components.uploads import ENV_NAMES as UPLOADS_ENV
from components.uploads import UploadsAccess
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import (
    AppName,
    ConfigModel,
    DnsName,
    EnvVarName,
    Quantity,
    RuleContext,
    UrlPath,
    distinct,
    matching,
    parse_quantity,
    pinned_image,
)

meta = k8s.meta.v1
core = k8s.core.v1

# A UID/GID outside the range images' own users take, so the app never runs as a user the image defines.
APP_UID = 10_001
# The preStop sleep outlasts the target group's deregistration delay by this much: the ALB needs a moment
# after deregistration starts before its nodes stop routing to the pod.
PRESTOP_MARGIN_SECONDS = 5
TARGET_GROUP_BINDING = "elbv2.k8s.aws/v1beta1"
EXTERNAL_SECRETS = "external-secrets.io/v1"
_DNS_PORT = 53
_HTTPS_PORT = 443
# The load balancer controller adds a readiness gate to pods created in namespaces with this label, so a
# new pod counts as ready only once its target is healthy in the ALB. It is injected at pod creation, when
# a Service that a TargetGroupBinding references selects the pod.
# https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/pod_readiness_gate/
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
# pulumi-kubernetes waits for this condition on a custom resource: the synced Secret exists before any pod
# that reads it starts. https://www.pulumi.com/registry/packages/kubernetes/installation-configuration/#await-behavior
WAIT_FOR_READY = {"pulumi.com/waitFor": "condition=Ready"}
BOOTSTRAP_NAMESPACE = "paved-database"
# How long `pulumi up` waits for a migration or bootstrap Job before failing the update.
JOB_TIMEOUT = "30m"


class HealthPaths(ConfigModel):
    startup: UrlPath
    readiness: UrlPath
    liveness: UrlPath


# One argument of a command; a command is a list of them, run without a shell.
Argument = Annotated[str, StringConstraints(min_length=1)]
Command = Annotated[
    list[Argument],
    Field(min_length=1),
    Hint('a command as a list, run without a shell: ["node", "dist/health.js"]'),
]


class HealthCommands(ConfigModel):
    """A worker's probes as commands run in its container: healthy while they exit 0.
    https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"""

    startup: Command | None = None
    readiness: Command
    liveness: Command


# The macros the CronJob controller's parser (robfig/cron's ParseStandard) takes besides five fields, as the
# CronJob page lists them: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i
    any_mark: bool = False  # `?` means `*` here (robfig/cron)

    def value(self, text: str) -> int:
        upper = text.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if not text.isascii() or not text.isdigit() or not self.low <= int(text) <= self.high:
            raise ValueError(f"{text!r} is not a {self.name} from {self.low} to {self.high}")
        return int(text)

    def check(self, text: str) -> None:
        for part in text.split(","):
            span, slash, step = part.partition("/")
            if slash and not (step.isascii() and step.isdigit() and int(step) > 0):
                raise ValueError(f"{part!r}: the step after / must be a positive number")
            if span == "*" or (self.any_mark and span == "?"):
                continue
            first, dash, last = span.partition("-")
            if dash and self.value(first) > self.value(last):
                raise ValueError(f"{span!r}: the range runs backwards")
            self.value(first)


_CRON_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day of the month", 1, 31, any_mark=True),
    _CronField("month", 1, 12, _MONTHS),
    _CronField("day of the week", 0, 6, _WEEKDAYS, any_mark=True),
)
_CRON_HINT = (
    'five fields, minute hour day-of-month month day-of-week, e.g. "0 3 * * *" (03:00 daily) or '
    '"*/15 * * * 1-5", or @hourly, @daily, @weekly, @monthly, @yearly; the time zone goes in timeZone'
)


def cron_schedule(value: str) -> str:
    """A schedule the CronJob controller accepts, checked here so a typo fails before `pulumi up`."""
    if value.strip() in _CRON_MACROS:
        return value
    if value.lstrip().upper().startswith(("TZ=", "CRON_TZ=")):
        # Kubernetes refuses TZ= in a new CronJob's schedule since 1.29; spec.timeZone replaces it.
        raise invalid(f"{value!r} names its time zone in the schedule", "set cronjob.timeZone instead")
    fields = value.split()
    if len(fields) != len(_CRON_FIELDS):
        raise invalid(f"{value!r} has {len(fields)} fields, not 5", _CRON_HINT)
    for field, text in zip(_CRON_FIELDS, fields, strict=True):
        try:
            field.check(text)
        except ValueError as error:
            raise invalid(f"{value!r}: {error}", _CRON_HINT) from None
    return value


def iana_time_zone(value: str) -> str:
    """A name of the IANA time zone database, which the CronJob controller reads its timeZone from (Go's
    time.LoadLocation). Not `Local`: that is the controller's own zone, which the field exists to avoid."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        valid = False
    else:
        valid = value != "Local"
    if not valid:
        raise invalid(f"{value!r} is not an IANA time zone", "e.g. Etc/UTC, Europe/Berlin, America/New_York")
    return value


class CronJobArgs(ConfigModel):
    """When and how a cronjob app runs (batch/v1 CronJob; README, "Workers, scheduled jobs and one-off
    tasks"). https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/"""

    schedule: Annotated[str, AfterValidator(cron_schedule)]
    # spec.timeZone is GA since Kubernetes 1.27, older than every version paved:cluster accepts.
    time_zone: Annotated[str, AfterValidator(iana_time_zone)]
    # The image's own entrypoint when unset.
    command: Command | None = None
    concurrency_policy: Annotated[
        Literal["Forbid", "Replace", "Allow"],
        Hint("Forbid skips a run while the last one still runs; Replace stops it; Allow runs both"),
    ]
    # The controller looks every 10 s, so a shorter deadline may skip every run (the CronJob page, "Job
    # creation").
    starting_deadline_seconds: Annotated[
        int, Field(ge=10), Hint("at least 10: the controller checks schedules every 10 seconds")
    ]
    active_deadline_seconds: Annotated[
        int, Field(ge=1, le=86400), Hint("seconds a run may take, up to a day")
    ]
    backoff_limit: Annotated[
        int, Field(ge=0, le=10), Hint("retries of a failed run, 0 to 10; retry only idempotent work")
    ]
    successful_jobs_history_limit: Annotated[int, Field(ge=0, le=100)]
    failed_jobs_history_limit: Annotated[
        int, Field(ge=1, le=100), Hint("keep at least 1 failed run, whose pod holds the logs to read")
    ]
    suspend: bool


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
# The URL paved builds for an app that lists NATS (components/nats.py), and the CA certificate (PEM) its
# client trusts the servers' certificate with.
NATS_URL_ENV = "NATS_URL"
NATS_CA_ENV = "NATS_CA"


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
        list[Argument],
        Hint('the command that migrates the schema, as a list: ["npx", "prisma", "migrate", "deploy"]'),
    ] = []
    url_parameters: Annotated[
        dict[Annotated[str, matching(r"[A-Za-z_]+", "a URL parameter name", "e.g. schema")], str],
        Hint("extra query parameters for DATABASE_URL, e.g. schema: api for Prisma"),
    ] = {}
    password_version: Annotated[
        int, Field(ge=1), Hint("password auth: raise it by one to generate, set and roll out a new password")
    ] = 1


class AppSlo(ConfigModel):
    """A public app's objectives over 30 days, alerted on by how fast they burn their error budget
    (README, "SLOs")."""

    # 14.4 × the budget must stay under 100% for the fast alert to mean anything: 95 and above.
    availability_percent: Annotated[
        float,
        Field(ge=95, le=99.99),
        Hint("the share of requests answered without a 5XX, e.g. 99.9 (errors under 0.1%)"),
    ]
    latency_ms: Annotated[int, Field(ge=1, le=60000), Hint("e.g. 500: p95 under 500 ms")]
    latency_percentile: Annotated[
        Literal[95, 99], Hint("95 or 99: that share of requests answered within latencyMs")
    ]


# A failed-runs rule compares 1 (the last scheduled run has not succeeded) with 0.
FailedRunsRule = Annotated[
    AlarmRule,
    threshold_within(0, 0, "the alarm fires while the last scheduled run has not succeeded: 1 against 0"),
]


class AppAlarms(ConfigModel):
    # Container restarts of the app's pods, per period: a service's or a worker's.
    restarts: AlarmRule | None = None
    # A cronjob's: its last scheduled run has not succeeded for the whole window (README, "Workers, scheduled
    # jobs and one-off tasks", "Failed runs").
    failed_runs: FailedRunsRule | None = None


# Languages Application Signals injects an SDK for under paved's restricted pod rules. Not Java: the operator
# leaves the Java init container without a securityContext (pkg/instrumentation/sdk.go in
# aws/amazon-cloudwatch-agent-operator, after open-telemetry/opentelemetry-operator#2272), which the
# `restricted` Pod Security profile refuses, so the pods would never start.
TracingLanguage = Annotated[
    Literal["nodejs", "python", "dotnet"],
    Hint(
        "nodejs, python or dotnet: the language whose OpenTelemetry SDK Application Signals injects; Java "
        "is not supported (its injected init container breaks the restricted pod rules)"
    ),
]


class Routing(NamedTuple):
    port: int
    health_paths: HealthPaths
    slo: AppSlo


AppKind = Annotated[
    Literal["service", "worker", "cronjob"],
    Hint(
        "service (the default): a Deployment with HTTP probes on its port, public with publicPath or host; "
        "worker: a Deployment without a Service, whose port is optional and probes are HTTP or commands; "
        "cronjob: runs on a schedule (cronjob.schedule)"
    ),
]
# The keys a kind of app has no use for: its preset has none of them, so any that is set came from the stack
# file, and config refuses it rather than ignore it.
_NOT_FOR_KIND: dict[str, tuple[str, ...]] = {
    "service": ("health_commands", "cronjob"),
    "worker": (
        "public_path",
        "host",
        "websocket",
        "websocket_heartbeat_seconds",
        "uptime_paths",
        "slo",
        "cronjob",
    ),
    "cronjob": (
        "port",
        "backend_protocol",
        "health_paths",
        "health_commands",
        "replicas",
        "pdb",
        "public_path",
        "host",
        "websocket",
        "websocket_heartbeat_seconds",
        "uptime_paths",
        "slo",
        "metrics_path",
    ),
}
# What each kind needs; all but a service's port and a cronjob's schedule come from the kind's preset.
_REQUIRED_FOR_KIND: dict[str, tuple[str, ...]] = {
    "service": ("port", "health_paths", "replicas", "pdb", "alarms", "slo"),
    "worker": ("replicas", "pdb", "alarms"),
    "cronjob": ("cronjob", "alarms"),
}
_REQUIRED_HINTS = {
    "port": "a service takes traffic on its port; a worker may have none (kind: worker)",
    "cronjob": 'set cronjob.schedule, e.g. "0 3 * * *"',
}
_KIND_HINTS = {
    "service": "remove it, or make the app a worker or cronjob with `kind`",
    "worker": "remove it: a worker takes no traffic and runs no schedule; a public app is a service",
    "cronjob": "remove it: a cronjob runs to completion on its schedule, with no replicas, probes or traffic",
}


class AppArgs(ConfigModel):
    name: AppName
    kind: AppKind = "service"
    image: Annotated[str, AfterValidator(pinned_image)]
    # Required for a service; a worker's is optional, a cronjob has none.
    port: Annotated[int, Field(ge=1, le=65535), Hint("use a TCP port from 1 to 65535")] | None = None
    # How the ALB and the kubelet's probes talk to the app on `port` (README, Edge tier: ALB to pods).
    backend_protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    health_paths: HealthPaths | None = None
    health_commands: HealthCommands | None = None
    replicas: Replicas | None = None
    resources: Resources
    public_path: UrlPath | None = None
    host: DnsName | None = None
    websocket: bool = False
    # How often a websocket app (or its client) sends a frame on an idle connection, e.g. Socket.IO's
    # pingInterval: the edge's idle timeouts must outlast it (paved/rules.py, websocket_timeout_violations).
    websocket_heartbeat_seconds: (
        Annotated[
            int,
            Field(ge=1, le=3600),
            Hint("seconds between the app's heartbeat frames, e.g. 25 for Socket.IO"),
        ]
        | None
    ) = None
    env: dict[EnvVarName, str]
    secrets: Annotated[
        list[EnvVarName],
        AfterValidator(distinct),
        Hint("secrets lists names (e.g. DATABASE_URL) of values kept in AWS Secrets Manager, never values"),
    ]
    pdb: PodDisruptionBudget | None = None
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
    # The app is a client of the stack's NATS (components/nats.py): it gets its own user and NATS_URL.
    nats: Annotated[
        bool, Hint("true gives the app NATS_URL and NATS_CA and lets it reach NATS; needs paved:nats on")
    ]
    # The app signs presigned uploads to, and reads, the stack's uploads bucket (components/uploads.py).
    uploads: bool
    # The app sends through the stack's SES identity (components/email.py).
    email: Annotated[bool, Hint("true lets the app send as the stack's SES identity; needs paved:email on")]
    alarms: AppAlarms | None = None
    slo: AppSlo | None = None
    cronjob: CronJobArgs | None = None
    # Where the app serves Prometheus metrics: never answered through the ALB, whatever its routes say.
    metrics_path: UrlPath | None = None
    # Traces and Application Signals metrics through the add-on's agent (README, "Metrics and tracing").
    tracing: TracingLanguage | None = None
    # What the app's uptime canary GETs on its public host, each expecting a 2xx (README, "Uptime canaries");
    # unset, the prefix of its public path. Eight paths of up to 200 characters keep the URLs inside the
    # 4 KB of environment a canary may have.
    uptime_paths: (
        Annotated[
            list[UrlPath],
            Field(min_length=1, max_length=8),
            AfterValidator(distinct),
            Hint("at most 8 paths that answer 2xx without a login, e.g. /api/health"),
        ]
        | None
    ) = None

    @property
    def is_public(self) -> bool:
        """Whether the app receives traffic through the load balancer (a worker does not)."""
        return self.public_path is not None or self.host is not None

    @property
    def is_deployed(self) -> bool:
        """Whether the app runs as a Deployment (a service or a worker), not on a schedule."""
        return self.kind != "cronjob"

    @property
    def served_port(self) -> int:
        """The port of an app that has one: every service, a worker with one (validation sees to it)."""
        if self.port is None:
            raise ValueError(f"app {self.name!r} has no port")
        return self.port

    @property
    def routing(self) -> "Routing":
        """What the ALB needs of a service (validation gives every service all of it)."""
        if self.port is None or self.health_paths is None or self.slo is None:
            raise ValueError(f"app {self.name!r} is a {self.kind}, not a service the ALB can route to")
        return Routing(self.port, self.health_paths, self.slo)

    @property
    def metrics_target(self) -> MetricsTarget | None:
        """What the add-on's scraper reads, for an app that serves metrics."""
        if self.metrics_path is None:
            return None
        return MetricsTarget(self.name, self.served_port, self.metrics_path, self.backend_protocol.lower())

    @property
    def route_prefix(self) -> str:
        """The start every path routed to the app shares: `/api/` for a public path of `/api/*`."""
        return (self.public_path or "/").rstrip("*")

    @property
    def effective_uptime_paths(self) -> list[str]:
        return list(self.uptime_paths) if self.uptime_paths is not None else [self.route_prefix]

    @property
    def database_role(self) -> str:
        """The app's own PostgreSQL role, which also names its schema: an unquoted identifier."""
        return self.name.replace("-", "_")

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        yield from self._kind_violations(path)
        if self.replicas is not None:
            yield from self.replicas.violations(f"{path}.replicas", ctx)
        yield from self.resources.violations(f"{path}.resources", ctx)
        if ctx.is_prod and self.is_public and self.replicas is not None and self.replicas.min < 2:
            yield ConfigProblem(
                f"{path}.replicas.min",
                f"a public app needs at least 2 replicas in prod, got {self.replicas.min}",
                "with one replica every deploy, node drain and AZ outage is downtime; set replicas.min: 2",
            )
        if self.metrics_path is not None and (
            self.metrics_path.rstrip("/") == "" or "*" in self.metrics_path
        ):
            yield ConfigProblem(
                f"{path}.metricsPath",
                f"{self.metrics_path!r} would hide more than the metrics from the internet",
                "name the one path the app serves metrics on, e.g. /metrics or /api/metrics",
            )
        if self.kind == "service":
            yield from self._uptime_violations(path)
        if self.kind == "service" and self.websocket and not self.is_public:
            yield ConfigProblem(
                f"{path}.websocket",
                "a worker (no publicPath and no host) receives no traffic, so it cannot serve websockets",
                "remove websocket, or give the app a publicPath or host",
            )
        if self.database is not None:
            yield from self._database_violations(path)
        for listed, feature, names, given in (
            (self.uploads, "uploads", UPLOADS_ENV, "the uploads bucket's name, region and prefix"),
            (self.email, "email", EMAIL_ENV, "its SES configuration set, domain and region"),
        ):
            for key in sorted(set(self.env) & set(names)) if listed else ():
                yield ConfigProblem(
                    f"{path}.env.{key}",
                    f"{key} is set by paved for an app with {feature}",
                    f"remove {key} here; paved gives the app {given}",
                )
        for key in filter(_SECRET_LIKE_ENV.search, (key.upper() for key in self.env)):
            yield ConfigProblem(
                f"{path}.env.{key}",
                f"{key} looks like a secret",
                f"move it to secrets: [{key}] and store the value in AWS Secrets Manager; env values are "
                "plain text in the stack file and the pod spec",
            )

    def _kind_violations(self, path: str) -> Iterator[ConfigProblem]:
        for field in _NOT_FOR_KIND[self.kind]:
            if field in self.model_fields_set:
                key = type(self).model_fields[field].alias or field
                yield ConfigProblem(f"{path}.{key}", f"a {self.kind} has no {key}", _KIND_HINTS[self.kind])
        for field in _REQUIRED_FOR_KIND[self.kind]:
            if getattr(self, field) is None:
                key = type(self).model_fields[field].alias or field
                hint = _REQUIRED_HINTS.get(
                    field, f"a {self.kind} needs {key}: leave it out to take the preset"
                )
                yield ConfigProblem(f"{path}.{key}", "is required", hint)
        yield from self._alarm_violations(path)
        if self.kind == "worker":
            yield from self._worker_probe_violations(path)
        if self.metrics_path is not None and self.port is None and self.kind == "worker":
            yield ConfigProblem(
                f"{path}.metricsPath", "a worker without a port has nowhere to serve metrics", "set port"
            )

    def _alarm_violations(self, path: str) -> Iterator[ConfigProblem]:
        """A Deployment's pods restart; a cronjob's runs fail. Each kind has its own alarm."""
        if self.alarms is None:
            return
        own, other = ("failed_runs", "restarts") if self.kind == "cronjob" else ("restarts", "failed_runs")
        alias = {"restarts": "restarts", "failed_runs": "failedRuns"}
        if other in self.alarms.model_fields_set:
            yield ConfigProblem(
                f"{path}.alarms.{alias[other]}",
                f"a {self.kind} has no alarms.{alias[other]}",
                _KIND_HINTS[self.kind],
            )
        if getattr(self.alarms, own) is None:
            yield ConfigProblem(
                f"{path}.alarms.{alias[own]}",
                "is required",
                f"a {self.kind} needs alarms.{alias[own]}: leave it out to take the preset",
            )
        rule, cron = self.alarms.failed_runs, self.cronjob
        if self.kind == "cronjob" and rule is not None and cron is not None:
            # A run may start startingDeadlineSeconds late and last activeDeadlineSeconds: the alarm must wait
            # longer than that, or a run still going would look failed.
            longest = cron.starting_deadline_seconds + cron.active_deadline_seconds
            if rule.periods * rule.period_seconds <= longest:
                yield ConfigProblem(
                    f"{path}.alarms.failedRuns.periods",
                    f"{rule.periods} × {rule.period_seconds} s is not longer than a run may take to start "
                    f"and finish ({cron.starting_deadline_seconds} + {cron.active_deadline_seconds} = "
                    f"{longest} s)",
                    "raise periods (or use 3600-second periods) so the window outlasts "
                    "startingDeadlineSeconds + activeDeadlineSeconds",
                )

    def _worker_probe_violations(self, path: str) -> Iterator[ConfigProblem]:
        """A worker proves it is alive and ready, over HTTP on its port or by commands: the pack's
        k8s-readiness-probe and k8s-liveness-probe are mandatory for every Deployment."""
        if self.health_paths is not None and self.health_commands is not None:
            yield ConfigProblem(
                f"{path}.healthCommands",
                "a worker probes either over HTTP (healthPaths) or by commands, not both",
                "keep one of healthPaths and healthCommands",
            )
        elif self.health_paths is not None and self.port is None:
            yield ConfigProblem(
                f"{path}.healthPaths", "HTTP probes need a port", "set port, or probe with healthCommands"
            )
        elif self.health_paths is None and self.health_commands is None:
            yield ConfigProblem(
                f"{path}.healthCommands",
                "a worker needs readiness and liveness probes",
                "set healthCommands.readiness and .liveness (commands that exit 0 while healthy), or port "
                "and healthPaths; without probes a hung worker is never restarted, and the policy pack's "
                "k8s-readiness-probe and k8s-liveness-probe refuse the Deployment",
            )

    def _uptime_violations(self, path: str) -> Iterator[ConfigProblem]:
        if self.uptime_paths is None:
            return
        if not self.is_public:
            yield ConfigProblem(
                f"{path}.uptimePaths",
                "a worker (no publicPath and no host) has no public URL to check",
                "remove uptimePaths, or give the app a publicPath or host",
            )
            return
        for index, uptime_path in enumerate(self.uptime_paths):
            where = f"{path}.uptimePaths[{index}]"
            if len(uptime_path) > 200 or "*" in uptime_path:
                yield ConfigProblem(
                    where,
                    f"{uptime_path[:40]!r} is not a single path of up to 200 characters",
                    "name one path, without wildcards",
                )
            elif not uptime_path.startswith(self.route_prefix):
                yield ConfigProblem(
                    where,
                    f"{uptime_path} is not routed to this app (its public path is {self.public_path})",
                    f"check a path under {self.route_prefix}, so the canary watches this app",
                )
            elif uptime_path == self.metrics_path:
                yield ConfigProblem(
                    where,
                    f"{uptime_path} is the metrics path, which the ALB never answers",
                    "check another path",
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
class NatsAccess:
    """Where the NATS servers listen, and each listing app's secret (its NATS_URL under `url`, the servers'
    CA certificate under `ca`)."""

    namespace: str
    pod_labels: Mapping[str, str]
    port: int
    secret_arns: Mapping[str, pulumi.Output[str]]
    # The release: an app's pods start once the servers are up.
    ready: Sequence[pulumi.Resource]


@dataclass(frozen=True)
class WorkloadContext:
    """What every app of a stack shares: the cluster and its identity provider, the network, the data
    stores' ports and the secrets' key."""

    provider: k8s.Provider
    # Cluster readiness (nodes, addons) and the controllers whose webhooks must run before apps apply.
    depends_on: Sequence[pulumi.Resource]
    kubernetes_version: str
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]  # without https://
    region: str
    vpc_cidr: str
    # Where the ALB's nodes live: the only sources of app traffic.
    load_balancer_cidrs: Sequence[str]
    data_store_ports: Sequence[int]
    secrets_key_arn: pulumi.Input[str]
    # Secret name in `paved:secrets` -> its Secrets Manager ARN and name.
    secret_arns: Mapping[str, pulumi.Input[str]]
    secret_names: Mapping[str, str]
    deregistration_delay_seconds: int
    # How often External Secrets reads each synced secret again: the most a rotated value waits before
    # Reloader rolls the pods that use it.
    secret_refresh_minutes: int
    alerting: Alerting
    tags: Mapping[str, str]
    database: DatabaseAccess | None = None
    nats: NatsAccess | None = None
    uploads: UploadsAccess | None = None
    email: EmailAccess | None = None


def labels_of(app: AppArgs) -> dict[str, str]:
    """The recommended labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/"""
    tag = "digest" if "@" in app.image else app.image.rsplit(":", 1)[-1]
    return {
        "app.kubernetes.io/name": app.name,
        "app.kubernetes.io/instance": f"{app.name}-{pulumi.get_stack()}",
        "app.kubernetes.io/version": tag[:63],
        "app.kubernetes.io/component": "web" if app.is_public else "worker" if app.is_deployed else "cronjob",
        "app.kubernetes.io/part-of": pulumi.get_project(),
        "app.kubernetes.io/managed-by": "pulumi",
    }


def prestop_seconds(app: AppArgs, deregistration_delay_seconds: int) -> int:
    """How long a terminating pod keeps serving: until the ALB has stopped routing to it (public apps)."""
    return deregistration_delay_seconds + PRESTOP_MARGIN_SECONDS if app.is_public else 0


def restricted_namespace(
    name: str, labels: Mapping[str, str], context: WorkloadContext, parent: pulumi.Resource
) -> core.Namespace:
    """A namespace whose every pod Pod Security Admission holds to the `restricted` profile:
    https://kubernetes.io/docs/concepts/security/pod-security-admission/"""
    version = f"v{context.kubernetes_version}"
    admission = {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn")
        for suffix, value in (("", "restricted"), ("-version", version))
    }
    return core.Namespace(
        name,
        metadata=meta.ObjectMetaArgs(name=name, labels={**labels, **admission}),
        opts=pulumi.ResourceOptions(
            parent=parent, provider=context.provider, depends_on=list(context.depends_on)
        ),
    )


def restricted_pod_security() -> core.PodSecurityContextArgs:
    return core.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=APP_UID,
        run_as_group=APP_UID,
        fs_group=APP_UID,
        seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
    )


def restricted_container_security() -> core.SecurityContextArgs:
    return core.SecurityContextArgs(
        run_as_non_root=True,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=core.CapabilitiesArgs(drop=["ALL"]),
    )


def _port(number: int, protocol: str = "TCP") -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(port=number, protocol=protocol)


def to_cidr(cidr: str, ports: Sequence[int]) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    networking = k8s.networking.v1
    return networking.NetworkPolicyEgressRuleArgs(
        to=[networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))],
        ports=[_port(number) for number in ports],
    )


def pods_in(namespace: str, labels: Mapping[str, str]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """The pods with `labels` in `namespace`, as a NetworkPolicy peer."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=meta.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace}),
        pod_selector=meta.LabelSelectorArgs(match_labels=dict(labels)),
    )


def to_pods(
    namespace: str, labels: Mapping[str, str], port: int
) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[pods_in(namespace, labels)], ports=[_port(port)])


DNS_EGRESS = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
    to=[pods_in("kube-system", {"k8s-app": "kube-dns"})],
    ports=[_port(_DNS_PORT, "UDP"), _port(_DNS_PORT)],
)


def _agent_peer(agent: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """The pods of one of the observability add-on's agents. The VPC CNI's policy controller resolves a peer
    pod to its status.podIP (computeIngressEndpoints and computeEgressEndpoints in
    aws/amazon-network-policy-controller-k8s). The scraper runs on the pod network, so that is its own
    address; the node agent runs on the host network, so that is its node's, and a CNI that ignores
    host-network pods as peers would need an ipBlock, which here would be the private subnets, every pod's
    address too (components/subnets.py)."""
    return pods_in(OBSERVABILITY_NAMESPACE, agent_pods(agent))


# What an app with `tracing` sends to the agent on its node: the injected SDK's OTLP and sampling requests, to
# the agent's Service (docs/aws-facts/observability-agent.md, "Egress an instrumented pod needs").
TRACING_EGRESS = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
    to=[_agent_peer(NODE_AGENT)], ports=[_port(number) for number in APPLICATION_SIGNALS_PORTS]
)


def default_deny(namespace: str, labels: Mapping[str, str], opts: pulumi.ResourceOptions) -> None:
    k8s.networking.v1.NetworkPolicy(
        f"{namespace}-default-deny",
        metadata=meta.ObjectMetaArgs(name="default-deny", namespace=namespace, labels=dict(labels)),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
        ),
        opts=opts,
    )


def synced_secret(
    name: str,
    *,
    namespace: str,
    service_account: str,
    labels: Mapping[str, str],
    data: Sequence[Mapping[str, object]],
    context: WorkloadContext,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A SecretStore of `service_account` and the ExternalSecret that syncs `data` into the Secret `name`."""
    store = secret_store(
        f"{name}-store",
        namespace=namespace,
        service_account=service_account,
        labels=labels,
        context=context,
        opts=opts,
    )
    return external_secret(
        name,
        namespace=namespace,
        service_account=service_account,
        store=store,
        labels=labels,
        data=data,
        context=context,
        opts=opts,
    )


def secret_store(
    resource_name: str,
    *,
    namespace: str,
    service_account: str,
    labels: Mapping[str, str],
    context: WorkloadContext,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A SecretStore, named after `service_account`, that reads Secrets Manager with that account's own
    IRSA role (External Secrets' per-store `serviceAccountRef` works only with IRSA)."""
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=EXTERNAL_SECRETS,
        kind="SecretStore",
        metadata=meta.ObjectMetaArgs(name=service_account, namespace=namespace, labels=dict(labels)),
        spec={
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": context.region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": service_account}}},
                }
            }
        },
        opts=opts,
    )


def external_secret(
    name: str,
    *,
    namespace: str,
    service_account: str,
    store: k8s.apiextensions.CustomResource,
    labels: Mapping[str, str],
    data: Sequence[Mapping[str, object]],
    context: WorkloadContext,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The ExternalSecret that syncs `data` into the Secret `name` through `store`, the SecretStore of
    `service_account`; pulumi waits until it is synced."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version=EXTERNAL_SECRETS,
        kind="ExternalSecret",
        metadata=meta.ObjectMetaArgs(
            name=name, namespace=namespace, labels=dict(labels), annotations=WAIT_FOR_READY
        ),
        spec={
            "refreshInterval": f"{context.secret_refresh_minutes}m",
            "secretStoreRef": {"kind": "SecretStore", "name": service_account},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": list(data),
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[store])),
    )


def secrets_read_policy(
    context: WorkloadContext, secret_arns: Sequence[pulumi.Input[str]]
) -> list[dict[str, object]]:
    """Read (and describe) exactly these secrets of the stack's secrets key."""
    return secrets_read_statements(
        secret_arns,
        kms_key_arn=context.secrets_key_arn,
        region=context.region,
        actions=("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    )


def awaited_job(
    resource_name: str,
    *,
    metadata: meta.ObjectMetaArgs,
    service_account: str,
    container: core.ContainerArgs,
    volumes: Sequence[core.VolumeArgs],
    retries: int,
    deadline_seconds: int,
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.Job:
    """A run-to-completion Job under the restricted pod rules, which `pulumi up` waits for and fails with.

    pulumi-kubernetes awaits a Job's Complete condition and fails on Failed:
    https://www.pulumi.com/registry/packages/kubernetes/api-docs/batch/v1/job/. Name it after what it runs:
    its pod template is immutable, so new work is a new Job. No ttlSecondsAfterFinished: Kubernetes would
    delete the finished Job and the next `pulumi up` run it again.
    """
    return k8s.batch.v1.Job(
        resource_name,
        metadata=metadata,
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=retries,
            active_deadline_seconds=deadline_seconds,
            template=core.PodTemplateSpecArgs(
                metadata=meta.ObjectMetaArgs(labels=metadata.labels),
                spec=core.PodSpecArgs(
                    service_account_name=service_account,
                    automount_service_account_token=False,
                    restart_policy="Never",
                    security_context=restricted_pod_security(),
                    containers=[container],
                    volumes=list(volumes),
                ),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT)
            ),
        ),
    )


class Workload(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    role_arn: pulumi.Output[str] | None

    def __init__(
        self,
        app: AppArgs,
        context: WorkloadContext,
        *,
        target_group_arn: pulumi.Input[str] | None,
        image: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:workload:Workload", app.name, None, opts)
        self._app = app
        # `image` resolves a reference to the stack's own repository (components/registry.py); the
        # labels and the migration Job's name keep `app.image` as written, which names the release.
        self._image = app.image if image is None else image
        self.app_name = app.name
        self._context = context
        self._labels = labels_of(app)
        self._selector = {"app.kubernetes.io/name": app.name}
        self._database_user = context.database.users.get(app.name) if context.database else None
        self._uploads = context.uploads if app.uploads else None
        self._email = context.email if app.email else None
        readiness_gate = {READINESS_GATE_LABEL: "enabled"} if app.is_public else {}
        namespace = restricted_namespace(app.name, {**self._labels, **readiness_gate}, context, self)
        self._in_namespace = pulumi.ResourceOptions(
            parent=self, provider=context.provider, depends_on=[namespace, *context.depends_on]
        )
        role = self._role()
        self.role_arn = role.arn if role else None
        account = self._service_account(role)
        config = self._config_map()
        secrets = self._external_secret() if self._secret_data() else None
        before_rollout: list[pulumi.Resource] = [account, config, *([secrets] if secrets else [])]
        if context.nats and app.nats:
            before_rollout += context.nats.ready
        if context.database and self._database_user:
            before_rollout += context.database.ready
            if app.database and app.database.migration_command:
                before_rollout.append(self._migration(app.database.migration_command, before_rollout))
        if app.is_public:
            if target_group_arn is None:
                raise ValueError(f"app {app.name!r} has a public path but no target group")
            # The readiness gate is injected only into pods that a bound Service selects when they are
            # created, so the Deployment's pods must come after the Service and its binding.
            before_rollout += self._service_and_binding(target_group_arn)
        if app.cronjob is not None:
            self._cron_job(app.cronjob, before_rollout)
        else:
            self._deployment(before_rollout)
            self._autoscaler()
            self._disruption_budget()
        self._network_policies()
        self._alarms()
        self.namespace = namespace.metadata.apply(lambda m: m.name or app.name)
        self.register_outputs({"namespace": self.namespace, "role_arn": self.role_arn})

    def _metadata(self, name: str | None = None, **extra: object) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(
            name=name or self._app.name,
            namespace=self._app.name,
            labels=self._labels,
            **extra,  # type: ignore[arg-type]
        )

    def _secret_data(self) -> list[dict[str, object]]:
        """What External Secrets syncs into the app's Secret: its `secrets`, and its DATABASE_URL when the
        app logs in with a password (the URL carries it)."""
        context = self._context
        data: list[dict[str, object]] = [
            {"secretKey": secret, "remoteRef": {"key": context.secret_names[secret]}}
            for secret in self._app.secrets
        ]
        user = self._database_user
        if context.database and user and user.auth == "password":
            data.append(
                {
                    "secretKey": DATABASE_URL_ENV,
                    "remoteRef": {"key": context.database.secret_arns[user.role], "property": "url"},
                }
            )
        if nats_arn := self._nats_secret_arn():
            data += [
                {"secretKey": env, "remoteRef": {"key": nats_arn, "property": prop}}
                for env, prop in ((NATS_URL_ENV, "url"), (NATS_CA_ENV, "ca"))
            ]
        return data

    def _nats_secret_arn(self) -> pulumi.Output[str] | None:
        """The app's own NATS secret, when it lists NATS."""
        nats = self._context.nats
        return nats.secret_arns[self._app.name] if nats and self._app.nats else None

    def _role(self) -> GrantedRole | None:
        """An IRSA role of the app's service account, when the app reads secrets, logs in with IAM, uploads
        or sends email.

        External Secrets assumes it with a token of the app's own service account, so one namespace can
        never read another app's secrets; IAM database users sign their tokens with it, uploaders their
        presigned URLs, and senders their SES calls.
        """
        context, name, user = self._context, self._app.name, self._database_user
        secret_arns = [context.secret_arns[secret] for secret in self._app.secrets]
        if context.database and user and user.auth == "password":
            secret_arns.append(context.database.secret_arns[user.role])
        if nats_arn := self._nats_secret_arn():
            secret_arns.append(nats_arn)
        statements = secrets_read_policy(context, secret_arns) if secret_arns else []
        if context.database and user and user.auth == "iam":
            # Exactly this app's database user, through the proxy (or the instance without one):
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": context.database.connect_arns[user.role],
                }
            )
        grants: list[str] = []
        if self._uploads:
            statements += self._uploads.statements()
            grants.append("puts and gets its uploads")
        if self._email:
            statements += self._email.statements()
            grants.append("sends email through SES")
        if not statements:
            return None
        return service_account_role(
            f"{name}-secrets",
            oidc_provider_arn=context.oidc_provider_arn,
            oidc_issuer=context.oidc_issuer,
            namespace=name,
            service_account=name,
            description="; ".join(
                [f"App {name}: reads its own secrets and logs in to its database", *grants]
            ),
            inline_policy=policy_document(*statements),
            tags=context.tags,
            parent=self,
        )

    def _service_account(self, role: GrantedRole | None) -> core.ServiceAccount:
        annotations = {"eks.amazonaws.com/role-arn": role.arn} if role else None
        return core.ServiceAccount(
            self._app.name,
            metadata=self._metadata(annotations=annotations),
            # The app does not talk to the Kubernetes API.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=role.ready if role else [])
            ),
        )

    def _config_map(self) -> core.ConfigMap:
        data: dict[str, pulumi.Input[str]] = dict(self._app.env)
        if self._uploads:
            data.update(self._uploads.env())
        if self._email:
            data.update(self._email.env())
        database, user = self._context.database, self._database_user
        if database and user and user.auth == "iam":
            # No password in it: the app signs an IAM token for this host as this user.
            data[DATABASE_URL_ENV] = pulumi.Output.from_input(database.host).apply(
                lambda host: database_url(
                    user,
                    host=host,
                    port=database.port,
                    database=database.name,
                    password=None,
                    tls=database.tls,
                )
            )
        return core.ConfigMap(
            f"{self._app.name}-env",
            metadata=self._metadata(f"{self._app.name}-env"),
            data=data,
            opts=self._in_namespace,
        )

    def _external_secret(self) -> k8s.apiextensions.CustomResource:
        app = self._app
        return synced_secret(
            f"{app.name}-secrets",
            namespace=app.name,
            service_account=app.name,
            labels=self._labels,
            data=self._secret_data(),
            context=self._context,
            opts=self._in_namespace,
        )

    def _container(self, migration: Sequence[str] | None = None) -> core.ContainerArgs:
        """The app's container; with `migration`, a one-off run of that command with the same image, env and
        limits."""
        app = self._app
        env_from = [
            core.EnvFromSourceArgs(config_map_ref=core.ConfigMapEnvSourceArgs(name=f"{app.name}-env"))
        ]
        if self._secret_data():
            env_from.append(
                core.EnvFromSourceArgs(secret_ref=core.SecretEnvSourceArgs(name=f"{app.name}-secrets"))
            )
        prestop = prestop_seconds(app, self._context.deregistration_delay_seconds)
        serves = migration is None
        command = app.cronjob.command if serves and app.cronjob else migration
        probes = self._probes() if serves else {}
        return core.ContainerArgs(
            name=app.name if serves else "migrate",
            image=self._image,
            image_pull_policy="IfNotPresent",
            command=list(command) if command else None,
            ports=[core.ContainerPortArgs(name="http", container_port=app.port, protocol="TCP")]
            if serves and app.port is not None
            else None,
            env_from=env_from,
            resources=core.ResourceRequirementsArgs(
                requests={"cpu": app.resources.cpu_request, "memory": app.resources.memory_request},
                limits={"cpu": app.resources.cpu_limit, "memory": app.resources.memory_limit},
            ),
            startup_probe=probes.get("startup"),
            readiness_probe=probes.get("readiness"),
            liveness_probe=probes.get("liveness"),
            lifecycle=core.LifecycleArgs(
                pre_stop=core.LifecycleHandlerArgs(sleep=core.SleepActionArgs(seconds=prestop))
            )
            if prestop and serves
            else None,
            security_context=restricted_container_security(),
            volume_mounts=[
                core.VolumeMountArgs(name=f"writable-{index}", mount_path=path)
                for index, path in enumerate(app.writable_paths)
            ],
        )

    def _volumes(self) -> list[core.VolumeArgs]:
        return [
            core.VolumeArgs(
                name=f"writable-{index}", empty_dir=core.EmptyDirVolumeSourceArgs(size_limit="1Gi")
            )
            for index, _ in enumerate(self._app.writable_paths)
        ]

    def _migration(self, command: Sequence[str], after: Sequence[pulumi.Resource]) -> k8s.batch.v1.Job:
        """The app's migration command as a Job of the new image, awaited before the Deployment changes;
        named after its image and command, so each release runs it once."""
        app = self._app
        digest = script_digest(json.dumps([app.image, list(command)]))
        labels = {
            **self._labels,
            "app.kubernetes.io/name": f"{app.name}-migrate",
            "app.kubernetes.io/component": "migration",
        }
        return awaited_job(
            f"{app.name}-migrate",
            metadata=meta.ObjectMetaArgs(
                name=f"{app.name}-migrate-{digest}", namespace=app.name, labels=labels
            ),
            service_account=app.name,
            container=self._container(command),
            volumes=self._volumes(),
            retries=1,
            deadline_seconds=1800,
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=list(after))
            ),
        )

    def _deployment(self, after: Sequence[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        app = self._app
        spread = [
            core.TopologySpreadConstraintArgs(
                topology_key=key,
                max_skew=1,
                # Spread when possible; never leave a pod pending because one zone is full.
                when_unsatisfiable="ScheduleAnyway",
                label_selector=meta.LabelSelectorArgs(match_labels=self._selector),
            )
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        # Reloader rolls the pods when the synced Secret changes (components/controllers.py).
        rolls_on = {RELOAD_ON_SECRETS: f"{app.name}-secrets"} if self._secret_data() else {}
        return k8s.apps.v1.Deployment(
            app.name,
            metadata=self._metadata(annotations=rolls_on or None),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas: the HorizontalPodAutoscaler owns the count, and `pulumi up` must not reset it.
                selector=meta.LabelSelectorArgs(match_labels=self._selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_unavailable=0, max_surge="25%"
                    ),
                ),
                revision_history_limit=5,
                template=self._pod_template(topology_spread_constraints=spread),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=list(after))
            ),
        )

    def _pod_template(self, **spec: Any) -> core.PodTemplateSpecArgs:
        """The app's pods, a Deployment's or a CronJob's: one identity, security context, container and set
        of volumes, with `spec`'s fields added."""
        app = self._app
        prestop = prestop_seconds(app, self._context.deregistration_delay_seconds)
        return core.PodTemplateSpecArgs(
            metadata=meta.ObjectMetaArgs(labels=self._labels, annotations=self._pod_annotations()),
            spec=core.PodSpecArgs(
                service_account_name=app.name,
                automount_service_account_token=False,
                termination_grace_period_seconds=prestop + app.shutdown_seconds,
                security_context=restricted_pod_security(),
                containers=[self._container()],
                volumes=self._volumes(),
                **spec,
            ),
        )

    def _cron_job(self, cron: CronJobArgs, after: Sequence[pulumi.Resource]) -> k8s.batch.v1.CronJob:
        """The app as a batch/v1 CronJob: each run a Job of the app's pods, which the app's NetworkPolicy
        selects by the same labels. https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/"""
        batch = k8s.batch.v1
        return batch.CronJob(
            self._app.name,
            metadata=self._metadata(),
            spec=batch.CronJobSpecArgs(
                schedule=cron.schedule,
                time_zone=cron.time_zone,
                concurrency_policy=cron.concurrency_policy,
                starting_deadline_seconds=cron.starting_deadline_seconds,
                successful_jobs_history_limit=cron.successful_jobs_history_limit,
                failed_jobs_history_limit=cron.failed_jobs_history_limit,
                suspend=cron.suspend,
                job_template=batch.JobTemplateSpecArgs(
                    metadata=meta.ObjectMetaArgs(labels=self._labels),
                    spec=batch.JobSpecArgs(
                        backoff_limit=cron.backoff_limit,
                        active_deadline_seconds=cron.active_deadline_seconds,
                        # A pod evicted by a node drain or preemption doesn't count against backoffLimit:
                        # https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy
                        # (GA in 1.31; it needs restartPolicy Never).
                        pod_failure_policy=batch.PodFailurePolicyArgs(
                            rules=[
                                batch.PodFailurePolicyRuleArgs(
                                    action="Ignore",
                                    on_pod_conditions=[
                                        batch.PodFailurePolicyOnPodConditionsPatternArgs(
                                            type="DisruptionTarget", status="True"
                                        )
                                    ],
                                )
                            ]
                        ),
                        # Never: a failed run keeps its pod, and so its logs, until the history limit.
                        template=self._pod_template(restart_policy="Never"),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=list(after))
            ),
        )

    def _pod_annotations(self) -> dict[str, str] | None:
        """The opt-in to Application Signals: the operator's webhook injects the language's SDK into pods
        created with it (AWS, "Enable Application Signals on Amazon EKS", Annotate manifest file)."""
        language = self._app.tracing
        return {f"instrumentation.opentelemetry.io/inject-{language}": "true"} if language else None

    def _probes(self) -> dict[str, core.ProbeArgs]:
        """The container's probes by kind, HTTP on `healthPaths` or commands of `healthCommands`. Slow starts
        get up to 150 s before liveness applies; then a stuck process restarts after 60 s."""
        app = self._app
        timing = {"startup": (5, 30), "readiness": (10, 3), "liveness": (20, 3)}
        handlers: dict[str, dict[str, Any]] = {}
        if app.health_paths is not None:
            scheme = app.backend_protocol
            handlers = {
                kind: {"http_get": core.HTTPGetActionArgs(path=path, port="http", scheme=scheme)}
                for kind, path in app.health_paths.model_dump().items()
            }
        elif app.health_commands is not None:
            handlers = {
                kind: {"exec_": core.ExecActionArgs(command=command)}
                for kind, command in app.health_commands.model_dump().items()
                if command is not None
            }
        return {
            kind: core.ProbeArgs(
                **handler,
                period_seconds=timing[kind][0],
                timeout_seconds=5,
                failure_threshold=timing[kind][1],
            )
            for kind, handler in handlers.items()
        }

    def _autoscaler(self) -> None:
        app = self._app
        if app.replicas is None:
            raise ValueError(f"app {app.name!r} has no replicas")

        def utilization(resource: str, percent: int) -> k8s.autoscaling.v2.MetricSpecArgs:
            return k8s.autoscaling.v2.MetricSpecArgs(
                type="Resource",
                resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                    name=resource,
                    target=k8s.autoscaling.v2.MetricTargetArgs(
                        type="Utilization", average_utilization=percent
                    ),
                ),
            )

        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            app.name,
            metadata=self._metadata(),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=app.name
                ),
                min_replicas=app.replicas.min,
                max_replicas=app.replicas.max,
                metrics=[utilization("cpu", 70), utilization("memory", 80)],
                # Scale up at once, scale down slowly: a 5-minute window and at most half the pods a minute
                # keep a bursty load from flapping the replica count.
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=0,
                        select_policy="Max",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                type="Percent", value=100, period_seconds=60
                            ),
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=4, period_seconds=60),
                        ],
                    ),
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=300,
                        select_policy="Min",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                type="Percent", value=50, period_seconds=60
                            )
                        ],
                    ),
                ),
            ),
            opts=self._in_namespace,
        )

    def _disruption_budget(self) -> None:
        pdb = self._app.pdb
        if pdb is None:
            raise ValueError(f"app {self._app.name!r} has no pdb")
        # maxUnavailable (never minAvailable) so a drain can always evict a pod, even at min replicas.
        k8s.policy.v1.PodDisruptionBudget(
            self._app.name,
            metadata=self._metadata(),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=pdb.max_unavailable,
                selector=meta.LabelSelectorArgs(match_labels=self._selector),
                # Pods that never became ready can always be evicted, so a bad rollout cannot block a drain.
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=self._in_namespace,
        )

    def _network_policies(self) -> None:
        app, context = self._app, self._context
        networking = k8s.networking.v1
        in_namespace = self._in_namespace
        default_deny(app.name, self._labels, in_namespace)
        egress = [
            DNS_EGRESS,
            to_cidr(context.vpc_cidr, context.data_store_ports),
            # AWS APIs (through the VPC endpoints or NAT) and third-party HTTPS APIs.
            to_cidr("0.0.0.0/0", [_HTTPS_PORT]),
        ]
        if context.nats and app.nats:
            egress.append(to_pods(context.nats.namespace, context.nats.pod_labels, context.nats.port))
        ingress = (
            [
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[
                        networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))
                        for cidr in context.load_balancer_cidrs
                    ],
                    ports=[_port(app.served_port)],
                )
            ]
            if app.is_public
            else []
        )
        if app.metrics_path is not None:
            # The metrics are served on the app's port, so the scraper gets that port, and from nowhere else.
            ingress.append(
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[_agent_peer(METRICS_SCRAPER)], ports=[_port(app.served_port)]
                )
            )
        networking.NetworkPolicy(
            app.name,
            metadata=self._metadata(),
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=self._selector),
                policy_types=["Ingress", "Egress"],
                ingress=ingress,
                egress=[*egress, *([TRACING_EGRESS] if app.tracing else [])],
            ),
            opts=in_namespace,
        )
        if app.database and app.database.migration_command:
            # Migration pods take no traffic; they reach DNS, the data stores and HTTPS like the app.
            networking.NetworkPolicy(
                f"{app.name}-migrate",
                metadata=self._metadata(f"{app.name}-migrate"),
                spec=networking.NetworkPolicySpecArgs(
                    pod_selector=meta.LabelSelectorArgs(
                        match_labels={"app.kubernetes.io/name": f"{app.name}-migrate"}
                    ),
                    policy_types=["Ingress", "Egress"],
                    egress=egress,
                ),
                opts=in_namespace,
            )

    def _service_and_binding(self, target_group_arn: pulumi.Input[str]) -> list[pulumi.Resource]:
        app = self._app
        service = core.Service(
            app.name,
            metadata=self._metadata(),
            spec=core.ServiceSpecArgs(
                type="ClusterIP",
                selector=self._selector,
                ports=[
                    core.ServicePortArgs(
                        name="http", port=app.served_port, target_port="http", protocol="TCP"
                    )
                ],
            ),
            opts=self._in_namespace,
        )
        # The load balancer controller registers the Service's pod IPs in the #4 target group; it creates
        # no load balancer of its own.
        binding = k8s.apiextensions.CustomResource(
            app.name,
            api_version=TARGET_GROUP_BINDING,
            kind="TargetGroupBinding",
            metadata=self._metadata(),
            spec={
                "serviceRef": {"name": app.name, "port": app.served_port},
                "targetGroupARN": target_group_arn,
                "targetType": "ip",
            },
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=[service])
            ),
        )
        return [service, binding]

    def _alarms(self) -> None:
        # A cronjob's failed run does not restart its pod (restartPolicy Never): its alarm reads what
        # kube-state-metrics publishes of the CronJob instead.
        alarms = self._app.alarms
        if alarms is not None and alarms.restarts is not None:
            self._restarts_alarm(alarms.restarts)
        if alarms is not None and alarms.failed_runs is not None:
            self._failed_runs_alarm(alarms.failed_runs)
        self._widgets()

    def _failed_runs_alarm(self, rule: AlarmRule) -> None:
        """In ALARM while the CronJob's last scheduled run has not succeeded, for the whole window (longer
        than a run may take to start and finish, which config checks); OK again after a run succeeds.

        kube-state-metrics' two gauges, published by the scraper in APP_METRICS_NAMESPACE by ClusterName and
        namespace (components/cluster.py): the last schedule time, and the completion time of the last
        successful run. A period breaches while its earliest schedule time is after every success in it. A
        CronJob that never succeeded has no success series: FILL makes it 0."""
        dimensions = {"ClusterName": self._context.cluster_name, "namespace": self._app.name}

        def gauge(query_id: str, metric_name: str, stat: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=APP_METRICS_NAMESPACE,
                    metric_name=metric_name,
                    dimensions=dimensions,
                    period=rule.period_seconds,
                    stat=stat,
                ),
            )

        minutes = rule.periods * rule.period_seconds // 60
        spec = AlarmSpec(
            description=f"The last scheduled run of {self._app.name} has not succeeded for {minutes} "
            "minutes: it failed, or was stopped at its deadline",
            metric_queries=[
                gauge("scheduled", KSM_LAST_SCHEDULE, "Minimum"),
                gauge("succeeded", KSM_LAST_SUCCESS, "Maximum"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="unsucceeded",
                    expression="IF(scheduled > FILL(succeeded, 0), 1, 0)",
                    label="last run not succeeded",
                    return_data=True,
                ),
            ],
            comparison_operator="GreaterThanThreshold",
            threshold=rule.threshold,
            evaluation_periods=rule.periods,
            datapoints_to_alarm=rule.periods,
            # No series: kube-state-metrics or the scraper is down, or the CronJob never ran.
            treat_missing_data="notBreaching",
        )
        self._context.alerting.alarm(
            f"app-{self._app.name}-failed-runs", spec, parent=self, runbook="cronjob-failed"
        )

    def _restarts_alarm(self, rule: AlarmRule) -> None:
        restarts = rule.threshold_for(
            suffix="restarts",
            description=f"Containers of {self._app.name} restarted more than {rule.threshold:g} times "
            f"{rule.window_text}: crash loop?",
            metric_name="pod_number_of_container_restarts",
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        self._context.alerting.threshold_alarms(
            f"app-{self._app.name}",
            [restarts],
            namespace="ContainerInsights",
            dimensions={
                "ClusterName": self._context.cluster_name,
                "Namespace": self._app.name,
                "PodName": self._app.name,
            },
            parent=self,
            runbook_prefix="app",
        )

    def _widgets(self) -> None:
        # Each app has its namespace and, for Container Insights, pods named after it (the CronJob's too:
        # Container Insights names a Job's pods after the CronJob that made it).
        pods = {
            "ClusterName": self._context.cluster_name,
            "Namespace": self._app.name,
            "PodName": self._app.name,
        }
        namespace = {"ClusterName": self._context.cluster_name, "Namespace": self._app.name}
        name, region = self._app.name, self._context.region
        self.widgets = [
            Widget(
                f"{name}: pods and restarts",
                region,
                [
                    Metric(
                        "ContainerInsights",
                        "namespace_number_of_running_pods",
                        namespace,
                        "Maximum",
                        "running",
                    ),
                    Metric("ContainerInsights", "pod_number_of_container_restarts", pods, "Sum", "restarts"),
                ],
            ),
            Widget(
                f"{name}: CPU and memory (% of the node)",
                region,
                [
                    Metric("ContainerInsights", "pod_cpu_utilization", pods, "Average", "CPU"),
                    Metric(
                        "ContainerInsights",
                        "pod_memory_utilization",
                        pods,
                        "Average",
                        "memory",
                    ),
                ],
            ),
        ]
