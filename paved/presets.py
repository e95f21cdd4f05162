"""Per-environment defaults: every key's production value, and what staging changes to save cost.

A stack file sets only what differs from its environment's preset. `PRESETS` holds the sections, `APP_PRESETS`
each app's defaults, and `SECRET_PRESET` each declared secret's.
"""

from typing import Any

from paved.fields import Environment


def deep_merge(base: Any, override: Any) -> Any:
    """`override` over `base`: dicts merge key by key, anything else (lists included) replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: deep_merge(base.get(key), value) for key, value in override.items()}}
    return override


_PROD_PRESET: dict[str, Any] = {
    "domain": {},
    "alerts": {"emails": [], "httpsEndpoints": []},
    "network": {
        "cidr": "10.0.0.0/16",
        "azCount": 3,
        "natGateways": "perAz",
        "flowLogRetentionDays": 365,
        "interfaceEndpoints": ["secretsmanager", "ecr.api", "ecr.dkr", "sts", "logs"],
    },
    "database": {
        "instanceClass": "db.r7g.large",
        "engineVersion": "17",
        "allocatedStorage": 100,
        "maxAllocatedStorage": 1000,
        "multiAz": True,
        "backupRetentionDays": 35,
        "backupWindow": "02:00-03:00",
        "maintenanceWindow": "sun:03:30-sun:04:30",
        "deletionProtection": True,
        "readReplicas": 1,
        "blueGreenUpdates": False,
        "allowMajorVersionUpgrade": False,
        "proxy": True,
        "monitoringIntervalSeconds": 15,
        "performanceInsightsRetentionDays": 465,
        "slowQueryMs": 500,
        "maxConnections": None,
        "logRetentionDays": 365,
        "passwordVersion": 1,
        # Runs the role bootstrap Job (psql); public ECR's copy of the Docker official image, through NAT.
        "bootstrapImage": "public.ecr.aws/docker/library/postgres:17.6-alpine3.22",
        "alarms": {
            "cpuPercent": 80,
            "freeStoragePercent": 10,
            "freeableMemoryPercent": 10,
            "connectionsPercent": 80,
            "readLatencyMs": 20,
            "replicaLagSeconds": 60,
            "cpuCreditBalance": 50,
        },
    },
    "cache": {
        "engine": "valkey",
        "engineVersion": "8.0",
        "nodeType": "cache.r7g.large",
        "replicasPerShard": 1,
        "multiAz": True,
        "snapshotRetentionDays": 7,
        "snapshotWindow": "00:30-01:30",
        "maintenanceWindow": "sun:05:00-sun:06:00",
        "maxmemoryPolicy": "volatile-lru",
        "logRetentionDays": 365,
        "authTokenVersion": 1,
        "alarms": {
            "engineCpuPercent": 80,
            "memoryPercent": 85,
            "evictions": 100,
            "connections": 5000,
            "replicationLagSeconds": 30,
        },
    },
    "backup": {
        "enabled": True,
        "vaultMinRetentionDays": 7,
        "vaultMaxRetentionDays": 400,
        "dailyRetentionDays": 35,
        "weeklyRetentionDays": 365,
        "drCopyRetentionDays": 35,
        "restoreTesting": True,
    },
    "secrets": {},
    "cluster": {
        "version": "1.36",
        "nodeInstanceTypes": ["m7i.large", "m6i.large"],
        "nodeMin": 3,
        "nodeMax": 12,
        "nodeDesired": 3,
        "nodeVolumeGib": 50,
        "spot": {
            "enabled": False,
            "instanceTypes": ["m7i.large", "m6i.large", "m5.large"],
            "min": 0,
            "max": 10,
        },
        "publicEndpoint": False,
        "publicAccessCidrs": [],
        "deployer": {"securityGroupIds": [], "cidrs": []},
        "logRetentionDays": 365,
        "addonVersions": {},
        "createAutoscalingServiceRole": False,
    },
    "edge": {
        "cloudfront": True,
        "idleTimeoutSeconds": 60,
        "rateLimitPerIp": 600,  # 10 requests/second per IP over a 60-second window
        "rateLimitWindowSeconds": 60,
        "ingressCidrs": ["0.0.0.0/0"],
        "geoBlockCountries": [],
        "uploadPaths": [],
        "assetPaths": ["/_next/static/*", "/static/*"],
        "contentSecurityPolicy": (
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self' wss:; frame-ancestors 'none'; base-uri 'self'; "
            "form-action 'self'; object-src 'none'; upgrade-insecure-requests"
        ),
        "corsAllowedOrigins": [],
        "priceClass": "PriceClass_All",
        "assetsFailover": True,
        "accessLogRetentionDays": 365,
        "wafLogRetentionDays": 365,
        "deregistrationDelaySeconds": 30,
        "originSecretVersion": 1,
        "blockedRequestsAlarm": 1000,
    },
    "apps": [],
    "tags": {},
}
_STAGING_DIFFERENCES: dict[str, Any] = {
    "network": {
        "cidr": "10.1.0.0/16",
        "azCount": 2,
        "natGateways": "single",
        "flowLogRetentionDays": 30,
        "interfaceEndpoints": [],
    },
    "database": {
        "instanceClass": "db.t4g.medium",
        "allocatedStorage": 20,
        "maxAllocatedStorage": 100,
        "multiAz": False,
        "backupRetentionDays": 7,
        "deletionProtection": False,
        "readReplicas": 0,
        "proxy": False,
        "monitoringIntervalSeconds": 60,
        "performanceInsightsRetentionDays": 7,
        "logRetentionDays": 30,
    },
    "cache": {
        "nodeType": "cache.t4g.small",
        "replicasPerShard": 0,
        "multiAz": False,
        "snapshotRetentionDays": 1,
        "logRetentionDays": 30,
    },
    "backup": {"enabled": False, "restoreTesting": False},
    "cluster": {
        "nodeInstanceTypes": ["t3.large"],
        "nodeMin": 2,
        "nodeMax": 4,
        "nodeDesired": 2,
        "logRetentionDays": 30,
    },
    "edge": {
        "priceClass": "PriceClass_100",
        "accessLogRetentionDays": 30,
        "wafLogRetentionDays": 30,
        "assetsFailover": False,
    },
}
PRESETS: dict[Environment, dict[str, Any]] = {
    "prod": _PROD_PRESET,
    "staging": deep_merge(_PROD_PRESET, _STAGING_DIFFERENCES),
}

_PROD_APP_PRESET: dict[str, Any] = {
    "backendProtocol": "HTTP",
    "healthPaths": {"startup": "/health", "readiness": "/health/ready", "liveness": "/health/live"},
    "replicas": {"min": 2, "max": 10},
    "resources": {"cpuRequest": "250m", "cpuLimit": "1", "memoryRequest": "512Mi", "memoryLimit": "512Mi"},
    "websocket": False,
    "env": {},
    "secrets": [],
    "pdb": {"maxUnavailable": 1},
    "shutdownSeconds": 30,
    "writablePaths": ["/tmp"],
}
APP_PRESETS: dict[Environment, dict[str, Any]] = {
    "prod": _PROD_APP_PRESET,
    "staging": deep_merge(
        _PROD_APP_PRESET,
        {
            "replicas": {"min": 1, "max": 3},
            "resources": {
                "cpuRequest": "100m",
                "cpuLimit": "500m",
                "memoryRequest": "256Mi",
                "memoryLimit": "256Mi",
            },
        },
    ),
}

SECRET_PRESET: dict[str, Any] = {"source": "external", "length": 64, "version": 1, "description": ""}
