"""Per-environment defaults as one table: a key's default, or its prod and staging values where they differ.

A stack file sets only what differs from its environment's preset. A row's key is the config key path under
`paved:` (`"database.backupRetentionDays"` is `paved:database.backupRetentionDays`); `Env(prod=...,
staging=...)` marks a default that depends on the environment, staging's saving cost. `PRESETS` holds the
sections, `APP_PRESETS` each app's defaults by its kind, and `SECRET_PRESET` each declared secret's.
"""

import copy
from typing import Any, NamedTuple

from paved.fields import Environment


class Env(NamedTuple):
    """A default that differs by environment."""

    prod: Any
    staging: Any


def deep_merge(base: Any, override: Any) -> Any:
    """`override` over `base`: dicts merge key by key, anything else (lists included) replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: deep_merge(base.get(key), value) for key, value in override.items()}}
    return override


_SECTIONS: dict[str, Any] = {
    "domain": {},
    "alerts.emails": [],
    "alerts.httpsEndpoints": [],
    "alerts.runbookBaseUrl": None,
    "network.cidr": Env(prod="10.0.0.0/16", staging="10.1.0.0/16"),
    "network.azCount": Env(prod=3, staging=2),
    "network.natGateways": Env(prod="perAz", staging="single"),
    "network.flowLogRetentionDays": Env(prod=365, staging=30),
    # Alarm rules: past `threshold` in each of `periods` consecutive periods of `periodSeconds`.
    "network.alarms.natPortAllocationErrors": {"threshold": 0, "periods": 1, "periodSeconds": 300},
    # ec2: the VPC CNI gets pods their IP addresses from the EC2 API; through the endpoint that does not
    # depend on a NAT gateway (and FSBP EC2.10 asks for it).
    "network.interfaceEndpoints": Env(
        prod=["secretsmanager", "ecr.api", "ecr.dkr", "sts", "logs", "ec2"], staging=[]
    ),
    "database.instanceClass": Env(prod="db.r7g.large", staging="db.t4g.medium"),
    "database.engineVersion": "17",
    "database.allocatedStorage": Env(prod=100, staging=20),
    "database.maxAllocatedStorage": Env(prod=1000, staging=100),
    "database.multiAz": Env(prod=True, staging=False),
    "database.backupRetentionDays": Env(prod=35, staging=7),
    "database.backupWindow": "02:00-03:00",
    "database.maintenanceWindow": "sun:03:30-sun:04:30",
    "database.deletionProtection": Env(prod=True, staging=False),
    "database.readReplicas": Env(prod=1, staging=0),
    "database.blueGreenUpdates": False,
    "database.allowMajorVersionUpgrade": False,
    "database.proxy": Env(prod=True, staging=False),
    "database.monitoringIntervalSeconds": Env(prod=15, staging=60),
    "database.performanceInsightsRetentionDays": Env(prod=465, staging=7),
    "database.slowQueryMs": 500,
    "database.maxConnections": None,
    "database.logRetentionDays": Env(prod=365, staging=30),
    "database.passwordVersion": 1,
    # Runs the role bootstrap Job (psql); public ECR's copy of the Docker official image, through NAT.
    "database.bootstrapImage": "public.ecr.aws/docker/library/postgres:17.6-alpine3.22",
    "database.alarms.cpuPercent": {"threshold": 80, "periods": 3, "periodSeconds": 300},
    "database.alarms.freeStoragePercent": {"threshold": 10, "periods": 1, "periodSeconds": 300},
    "database.alarms.freeableMemoryPercent": {"threshold": 10, "periods": 3, "periodSeconds": 300},
    "database.alarms.connectionsPercent": {"threshold": 80, "periods": 2, "periodSeconds": 300},
    "database.alarms.readLatencyMs": {"threshold": 20, "periods": 3, "periodSeconds": 300},
    "database.alarms.replicaLagSeconds": {"threshold": 60, "periods": 2, "periodSeconds": 300},
    "database.alarms.connectionFailures": {"threshold": 0, "periods": 1, "periodSeconds": 300},
    "database.alarms.cpuCreditBalance": {"threshold": 50, "periods": 1, "periodSeconds": 300},
    "database.alarms.restoreDrillMaxAgeDays": Env(prod=7, staging=None),
    "cache.engine": "valkey",
    "cache.engineVersion": "8.0",
    "cache.nodeType": Env(prod="cache.r7g.large", staging="cache.t4g.small"),
    "cache.replicasPerShard": Env(prod=1, staging=0),
    "cache.multiAz": Env(prod=True, staging=False),
    "cache.snapshotRetentionDays": Env(prod=7, staging=1),
    "cache.snapshotWindow": "00:30-01:30",
    "cache.maintenanceWindow": "sun:05:00-sun:06:00",
    "cache.maxmemoryPolicy": "volatile-lru",
    "cache.use": "cache",
    "cache.logRetentionDays": Env(prod=365, staging=30),
    "cache.authTokenVersion": 1,
    "cache.alarms.engineCpuPercent": {"threshold": 80, "periods": 3, "periodSeconds": 300},
    "cache.alarms.memoryPercent": {"threshold": 85, "periods": 2, "periodSeconds": 300},
    "cache.alarms.evictions": {"threshold": 100, "periods": 1, "periodSeconds": 300},
    "cache.alarms.connections": {"threshold": 5000, "periods": 2, "periodSeconds": 300},
    "cache.alarms.replicationLagSeconds": {"threshold": 30, "periods": 2, "periodSeconds": 300},
    # NATS with JetStream in the cluster (components/nats.py), off unless a stack turns it on.
    "nats.enabled": False,
    "nats.replicas": 3,
    "nats.storageGib": Env(prod=50, staging=10),
    "nats.resources.cpuRequest": Env(prod="1", staging="250m"),
    "nats.resources.cpuLimit": Env(prod="2", staging="1"),
    "nats.resources.memoryRequest": Env(prod="2Gi", staging="1Gi"),
    "nats.resources.memoryLimit": Env(prod="2Gi", staging="1Gi"),
    "nats.passwordVersion": 1,
    "nats.certificateValidityDays": 365,
    "nats.alarms.restarts": {"threshold": 2, "periods": 1, "periodSeconds": 300},
    # A rolling restart takes one server down for a minute or two: 15 minutes short of one is not that.
    "nats.alarms.podsMissing": {"threshold": 0, "periods": 3, "periodSeconds": 300},
    # The DR region's restore target (components/disaster_recovery.py): free while idle.
    "dr.mode": Env(prod="pilot-light", staging="backups"),
    "dr.cidr": Env(prod="10.64.0.0/16", staging="10.65.0.0/16"),
    "backup.enabled": Env(prod=True, staging=False),
    "backup.vaultMinRetentionDays": 7,
    "backup.vaultMaxRetentionDays": 400,
    "backup.dailyRetentionDays": 35,
    "backup.weeklyRetentionDays": 365,
    "backup.drCopyRetentionDays": 35,
    "backup.restoreTesting": Env(prod=True, staging=False),
    "secrets": {},
    "registry.keepReleases": Env(prod=30, staging=10),
    "registry.blockSeverity": Env(prod="HIGH", staging="CRITICAL"),
    "cluster.version": "1.36",
    "cluster.nodeInstanceTypes": Env(prod=["m7i.large", "m6i.large"], staging=["t3.large"]),
    "cluster.nodeMin": Env(prod=3, staging=2),
    "cluster.nodeMax": Env(prod=12, staging=4),
    "cluster.nodeDesired": Env(prod=3, staging=2),
    "cluster.nodeVolumeGib": 50,
    "cluster.secretRefreshMinutes": 5,
    "cluster.spot.enabled": False,
    "cluster.spot.instanceTypes": ["m7i.large", "m6i.large", "m5.large"],
    "cluster.spot.min": 0,
    "cluster.spot.max": 10,
    "cluster.publicEndpoint": False,
    "cluster.publicAccessCidrs": [],
    "cluster.deployer.securityGroupIds": [],
    "cluster.deployer.cidrs": [],
    "cluster.viewerRoleArns": [],
    "cluster.logRetentionDays": Env(prod=365, staging=30),
    "cluster.addonVersions": {},
    "cluster.createAutoscalingServiceRole": False,
    "cluster.alarms.nodeCpuPercent": {"threshold": 80, "periods": 3, "periodSeconds": 300},
    "cluster.alarms.nodeMemoryPercent": {
        "threshold": 85,
        "periods": 3,
        "periodSeconds": 300,
    },  # seed 004: memory > 85%
    "cluster.alarms.failedNodes": {"threshold": 0, "periods": 2, "periodSeconds": 300},
    "edge.cloudfront": True,
    "edge.idleTimeoutSeconds": 60,
    "edge.rateLimitPerIp": 600,  # 10 requests/second per IP over a 60-second window
    "edge.rateLimitWindowSeconds": 60,
    "edge.pathRateLimits": [],
    "edge.ingressCidrs": ["0.0.0.0/0"],
    "edge.geoBlockCountries": [],
    "edge.uploadPaths": [],
    "edge.uploadMethods": ["POST", "PUT"],
    "edge.assetPaths": ["/_next/static/*", "/static/*"],
    "edge.contentSecurityPolicy": (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self' wss:; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'; object-src 'none'; upgrade-insecure-requests"
    ),
    "edge.corsAllowedOrigins": [],
    "edge.corsAllowAppHosts": Env(prod=True, staging=False),
    "edge.priceClass": Env(prod="PriceClass_All", staging="PriceClass_100"),
    "edge.assetsFailover": Env(prod=True, staging=False),
    "edge.accessLogRetentionDays": Env(prod=365, staging=30),
    "edge.wafLogRetentionDays": Env(prod=365, staging=30),
    "edge.deregistrationDelaySeconds": 30,
    "edge.originSecretVersion": 1,
    "edge.blockedRequestsAlarm": {"threshold": 1000, "periods": 1, "periodSeconds": 300},
    "edge.alarms.targetErrorRate": {
        "threshold": 5,
        "periods": 2,
        "periodSeconds": 300,
    },  # seed 004: error rate > 5%
    "edge.alarms.loadBalancerErrors": {"threshold": 10, "periods": 1, "periodSeconds": 300},
    "edge.alarms.p95LatencyMs": {
        "threshold": 2000,
        "periods": 3,
        "periodSeconds": 300,
    },  # seed 004: response time > 2 s
    "edge.alarms.cdnServerErrorRate": {"threshold": 5, "periods": 2, "periodSeconds": 300},
    "edge.alarms.cdnClientErrorRate": {"threshold": 20, "periods": 3, "periodSeconds": 300},
    # One canary per public app (components/uptime.py); every run is billed, so staging looks less often.
    "uptime.enabled": True,
    "uptime.runtime": "syn-nodejs-5.4",
    "uptime.intervalMinutes": Env(prod=5, staging=15),
    "uptime.timeoutSeconds": 60,
    "uptime.artifactRetentionDays": Env(prod=31, staging=7),
    # Below 90% of runs succeeding, in each of two periods: two failed runs in a row.
    "uptime.alarm": Env(
        prod={"threshold": 90, "periods": 2, "periodSeconds": 300},
        staging={"threshold": 90, "periods": 2, "periodSeconds": 900},
    ),
    # Opt-in (components/uploads.py); S3 keeps an overwritten upload recoverable for a month.
    "uploads.enabled": False,
    "uploads.corsOrigins": None,
    "uploads.lifecycle.noncurrentVersionDays": 30,
    "uploads.lifecycle.abortIncompleteMultipartDays": 7,
    "uploads.lifecycle.expirePrefixes": {},
    # Amazon SES (components/email.py), opt-in: Postmark is the default sender (README, "Email"). DMARC
    # starts at none: the record covers all mail sent as the domain, not just SES's, so enforcing it is
    # the domain owner's step once the reports show every sender aligned.
    "email.enabled": False,
    "email.domain": None,
    "email.mailFromSubdomain": "mail",
    "email.dmarcPolicy": "none",
    "email.dmarcReportEmail": None,
    "email.events": ["BOUNCE", "COMPLAINT"],
    # Below where AWS reviews an account (5% bounces, 0.1% complaints), so there is time to act first.
    "email.alarms.bounceRatePercent": {"threshold": 4, "periods": 1, "periodSeconds": 900},
    "email.alarms.complaintRatePercent": {"threshold": 0.08, "periods": 1, "periodSeconds": 900},
    "apps": [],
    "tags": {},
}

# Every app's defaults, whatever its kind.
_APP: dict[str, Any] = {
    "resources.cpuRequest": Env(prod="250m", staging="100m"),
    "resources.cpuLimit": Env(prod="1", staging="500m"),
    "resources.memoryRequest": Env(prod="512Mi", staging="256Mi"),
    "resources.memoryLimit": Env(prod="512Mi", staging="256Mi"),
    "nats": False,
    "env": {},
    "secrets": [],
    "shutdownSeconds": 30,
    "writablePaths": ["/tmp"],
    "uploads": False,
    "email": False,
}
# What runs as a Deployment: a service or a worker.
_DEPLOYED: dict[str, Any] = {
    "backendProtocol": "HTTP",
    "replicas.min": Env(prod=2, staging=1),
    "replicas.max": Env(prod=10, staging=3),
    "pdb.maxUnavailable": 1,
    "alarms.restarts": {"threshold": 2, "periods": 1, "periodSeconds": 300},
}
# Each kind's own defaults (README, "Workers, scheduled jobs and one-off tasks"). A kind's preset has only the
# keys that kind takes, so a key of another kind can only come from the stack file, where config refuses it.
_APP_KINDS: dict[str, dict[str, Any]] = {
    "service": {
        **_DEPLOYED,
        "healthPaths.startup": "/health",
        "healthPaths.readiness": "/health/ready",
        "healthPaths.liveness": "/health/live",
        "websocket": False,
        "websocketHeartbeatSeconds": 25,  # Socket.IO's default pingInterval
        # Seed 001 (checklists): p95 under 500 ms, errors under 0.1%. Public apps only: others have no ALB.
        "slo.availabilityPercent": 99.9,
        "slo.latencyMs": 500,
        "slo.latencyPercentile": 95,
    },
    # A worker's probes are its own to declare: HTTP on its port, or commands.
    "worker": _DEPLOYED,
    "cronjob": {
        # A run that would overlap the last one is skipped, not started beside it.
        "cronjob.concurrencyPolicy": "Forbid",
        "cronjob.timeZone": "Etc/UTC",
        # A run that could not start within 5 minutes of its time (controller down, cluster full) is
        # skipped rather than started late.
        "cronjob.startingDeadlineSeconds": 300,
        "cronjob.activeDeadlineSeconds": 3600,
        # No retry: a run may not be safe to repeat; an idempotent job may raise it.
        "cronjob.backoffLimit": 0,
        "cronjob.successfulJobsHistoryLimit": 3,
        "cronjob.failedJobsHistoryLimit": 3,
        "cronjob.suspend": False,
        # The last run has not succeeded for 70 minutes: longer than the preset's 300 s to start and 3600 s
        # to run (config checks the window against the cronjob's own deadlines).
        "alarms.failedRuns": {"threshold": 0, "periods": 14, "periodSeconds": 300},
    },
}

SECRET_PRESET: dict[str, Any] = {"source": "external", "length": 64, "version": 1, "description": ""}


def _preset(table: dict[str, Any], environment: Environment) -> dict[str, Any]:
    """The table's column for `environment`, nested by the dots of its keys."""
    preset: dict[str, Any] = {}
    for path, value in table.items():
        *parents, key = path.split(".")
        node = preset
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = copy.deepcopy(getattr(value, environment) if isinstance(value, Env) else value)
    return preset


PRESETS: dict[Environment, dict[str, Any]] = {
    "prod": _preset(_SECTIONS, "prod"),
    "staging": _preset(_SECTIONS, "staging"),
}


def _app_presets(environment: Environment) -> dict[str, dict[str, Any]]:
    return {kind: _preset({**_APP, **own}, environment) for kind, own in _APP_KINDS.items()}


# Environment -> kind -> an app's defaults.
APP_PRESETS: dict[Environment, dict[str, dict[str, Any]]] = {
    "prod": _app_presets("prod"),
    "staging": _app_presets("staging"),
}
