"""One rule per family of checklist items: what in the previewed stack decides the family's items.

Each rule is a small pure function of the evidence (paved.readiness.evidence.Stack) returning a Finding:
DONE when every fact the family needs holds, PARTIAL when some do, MISSING when none does (with the config
key that would bring it), N/A when infrastructure can't answer the item. `FAMILIES` maps each family id of
items.yaml to its rule; a family's items all share its verdict.
"""

from collections.abc import Callable

from paved.readiness.evidence import (
    Check,
    Finding,
    Stack,
    Status,
    containers,
    dig,
    every,
    judge,
    named,
    not_applicable,
)
from paved.recorder import RecordedResource

DB = "aws:rds/instance:Instance"
DB_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
PROXY = "aws:rds/proxy:Proxy"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_PARAMETERS = "aws:elasticache/parameterGroup:ParameterGroup"
LISTENER = "aws:lb/listener:Listener"
ALB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE = "kubernetes:core/v1:Service"
JOB = "kubernetes:batch/v1:Job"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ADDON = "aws:eks/addon:Addon"
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
CANARY = "aws:synthetics/canary:Canary"
TRAIL = "aws:cloudtrail/trail:Trail"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"
TRACING_ANNOTATION = "instrumentation.opentelemetry.io/inject-"

Rule = Callable[[Stack], Finding]


def _primary(stack: Stack) -> list:
    return [db for db in stack.of(DB) if not db.inputs.get("replicateSourceDb")]


def _parameter(group_type: str, name: str, stack: Stack) -> str | None:
    for group in stack.of(group_type):
        for parameter in group.inputs.get("parameters") or []:
            if parameter.get("name") == name:
                return str(parameter.get("value"))
    return None


def _behaviors(distribution) -> list[dict]:
    return [
        distribution.inputs.get("defaultCacheBehavior") or {},
        *(distribution.inputs.get("orderedCacheBehaviors") or []),
    ]


def _pod_spec(deployment) -> dict:
    return dig(deployment.inputs, "spec", "template", "spec") or {}


# -- not infrastructure's -----------------------------------------------------------------------------


def application(stack: Stack) -> Finding:
    return not_applicable("the application's own code, libraries, build or tests")


def process(stack: Stack) -> Finding:
    return not_applicable("a human or organisational activity, not a resource")


def context(stack: Stack) -> Finding:
    return not_applicable("context in the checklist, not a requirement")


# -- security -----------------------------------------------------------------------------------------


def tls(stack: Stack) -> Finding:
    listeners = stack.of(LISTENER)
    checks = [
        Check(
            every(
                listeners,
                lambda listener: (
                    listener.inputs.get("protocol") == "HTTPS"
                    or dig(listener.inputs, "defaultActions", 0, "redirect", "protocol") == "HTTPS"
                ),
            ),
            f"the ALB serves HTTPS only ({named(listeners)})",
            "an ALB listener that serves plain HTTP",
        ),
        Check(
            _parameter(DB_PARAMETERS, "rds.force_ssl", stack) == "1",
            "PostgreSQL refuses connections without TLS (rds.force_ssl = 1)",
            "PostgreSQL accepts connections without TLS",
            "paved:database",
        ),
    ]
    for distribution in stack.of(DISTRIBUTION):
        checks.append(
            Check(
                all(
                    behavior.get("viewerProtocolPolicy") in ("redirect-to-https", "https-only")
                    for behavior in _behaviors(distribution)
                ),
                f"CloudFront redirects viewers to HTTPS ({distribution.name})",
                f"a behaviour of {distribution.name} serves HTTP",
            )
        )
    if stack.of(PROXY):
        checks.append(
            Check(
                every(stack.of(PROXY), lambda proxy: proxy.inputs.get("requireTls") is True),
                f"RDS Proxy requires TLS ({named(stack.of(PROXY))})",
                "RDS Proxy accepts clients without TLS",
            )
        )
    if stack.of(CACHE):
        checks.append(
            Check(
                every(stack.of(CACHE), lambda cache: cache.inputs.get("transitEncryptionEnabled") is True),
                f"the cache encrypts in transit ({named(stack.of(CACHE))})",
                "the cache accepts plaintext connections",
            )
        )
    return judge(
        checks,
        "elb-listener-tls12-policy",
        "elb-http-redirects-to-https",
        "cloudfront-viewer-https",
        "cloudfront-viewer-tls",
        "rds-force-ssl",
        "rds-proxy-require-tls",
        "elasticache-transit-encryption",
        "s3-tls-only-policy",
        stack=stack,
    )


def secrets(stack: Stack) -> Finding:
    stored = stack.of(SECRET)
    synced = stack.of(EXTERNAL_SECRET)
    return judge(
        [
            Check(
                every(stored, lambda secret: bool(secret.inputs.get("kmsKeyId"))),
                f"{len(stored)} secrets in Secrets Manager under the stack's KMS key",
                "no secret in Secrets Manager under a customer key",
                "paved:secrets",
            ),
            Check(
                bool(synced),
                f"apps receive them through External Secrets ({named(synced)}), never in config or code",
                "no app receives its secrets from Secrets Manager",
                "paved:apps[].secrets",
            ),
        ],
        "secretsmanager-cmk",
        "rds-no-plaintext-password",
        "codebuild-env-no-plaintext-aws-keys",
        stack=stack,
    )


def network_security(stack: Stack) -> Finding:
    absent = stack.proven("forbidden")
    policies = stack.of(NETWORK_POLICY)
    clusters = stack.of(CLUSTER)
    return judge(
        [
            Check(
                bool(absent)
                and not [flow for flow in stack.flows if flow.kind == "forbidden" and flow.fails],
                f"the wiring proof shows {len(absent)} forbidden paths absent (the internet to the database, "
                "cache and nodes; pods to instance metadata)",
                "a forbidden path exists",
            ),
            Check(
                bool(policies),
                f"{len(policies)} NetworkPolicies deny by default and admit each app's peers",
                "no NetworkPolicy",
            ),
            Check(
                every(
                    clusters,
                    lambda cluster: dig(cluster.inputs, "vpcConfig", "endpointPublicAccess") is False,
                ),
                "the Kubernetes API is private",
                "the Kubernetes API is public",
                "paved:cluster",
            ),
        ],
        "rds-not-public",
        "rds-not-in-public-subnet",
        "security-group-no-public-ingress",
        "security-group-public-web-lb-only",
        "k8s-network-policy-coverage",
        "eks-endpoint-not-public",
        "default-security-group-closed",
        stack=stack,
    )


def container_security(stack: Stack) -> Finding:
    deployments = stack.of(DEPLOYMENT)

    def hardened(deployment) -> bool:
        return all(
            dig(container, "securityContext", "runAsNonRoot") is True
            and dig(container, "securityContext", "allowPrivilegeEscalation") is False
            and dig(container, "securityContext", "readOnlyRootFilesystem") is True
            for container in containers(deployment)
        )

    return judge(
        [
            Check(
                every(deployments, hardened),
                f"every container of {named(deployments)} runs as non-root, read-only, without escalation",
                "a container may run as root or escalate",
            )
        ],
        "k8s-run-as-non-root",
        "k8s-no-privilege-escalation",
        "k8s-read-only-root-filesystem",
        "k8s-drop-all-capabilities",
        "k8s-seccomp-profile",
        stack=stack,
    )


def _rules_of(acl) -> list[dict]:
    return acl.inputs.get("rules") or []


def rate_limiting(stack: Stack) -> Finding:
    acls = stack.of(WEB_ACL)
    rated = [
        acl for acl in acls if any(dig(rule, "statement", "rateBasedStatement") for rule in _rules_of(acl))
    ]
    per_path = any(
        dig(rule, "statement", "rateBasedStatement", "scopeDownStatement")
        for acl in acls
        for rule in _rules_of(acl)
    )
    return judge(
        [
            Check(
                bool(rated),
                f"WAF rate-based rules per client IP ({named(rated)})",
                "no WAF rate-based rule",
                "paved:edge.rateLimitPerIp",
            ),
            Check(
                per_path,
                "rate limits scoped to paths",
                "no per-path rate limit (e.g. tighter on /api/auth/)",
                "paved:edge.pathRateLimits",
            ),
        ],
        "wafv2-rate-based-rule",
        stack=stack,
    )


def waf(stack: Stack) -> Finding:
    acls = stack.of(WEB_ACL)
    managed = [
        acl
        for acl in acls
        if any(dig(rule, "statement", "managedRuleGroupStatement") for rule in _rules_of(acl))
    ]
    return judge(
        [
            Check(
                bool(managed),
                f"web ACLs with AWS managed rule groups ({named(managed)}); Shield Standard covers CloudFront"
                " "
                "and the ALB",
                "no web ACL with managed rules",
            )
        ],
        "wafv2-managed-baseline-rules",
        "alb-waf-associated",
        "cloudfront-waf-attached",
        "wafv2-logging-enabled",
        stack=stack,
    )


def _alb_header(listener: RecordedResource, name: str) -> str | None:
    """A response header the ALB listener adds (header modification), by its attribute's name."""
    return listener.inputs.get(f"routingHttpResponse{name}HeaderValue")


def cors(stack: Stack) -> Finding:
    policies = [policy for policy in stack.of(HEADERS_POLICY) if policy.inputs.get("corsConfig")]
    if not stack.of(DISTRIBUTION):
        listeners = [
            listener for listener in stack.of(LISTENER) if _alb_header(listener, "AccessControlAllowOrigin")
        ]
        origins = [str(_alb_header(listener, "AccessControlAllowOrigin")) for listener in listeners]
        return judge(
            [
                Check(
                    bool(origins) and "*" not in origins,
                    f"the ALB answers CORS for {', '.join(origins)} only ({named(listeners)})",
                    "neither CloudFront nor the ALB sets one CORS origin: the apps answer CORS themselves "
                    "(CORS_ALLOWED_ORIGINS)",
                    "paved:edge.corsAllowedOrigins",
                )
            ],
            stack=stack,
        )
    origins = [
        origin
        for policy in policies
        for origin in dig(policy.inputs, "corsConfig", "accessControlAllowOrigins", "items") or []
    ]
    return judge(
        [
            Check(
                bool(origins) and "*" not in origins,
                f"CloudFront answers CORS for {', '.join(origins)} only ({named(policies)})",
                "CloudFront sets no CORS origins, or any origin",
                "paved:edge.corsAllowedOrigins",
            )
        ],
        stack=stack,
    )


def security_headers(stack: Stack) -> Finding:
    """The headers CloudFront's response headers policy adds, or without CloudFront the ALB listener's."""
    if stack.of(DISTRIBUTION):
        sources = [
            policy for policy in stack.of(HEADERS_POLICY) if policy.inputs.get("securityHeadersConfig")
        ]
        config = [dig(policy.inputs, "securityHeadersConfig") or {} for policy in sources]
        hsts = any(headers.get("strictTransportSecurity") for headers in config)
        csp = any(headers.get("contentSecurityPolicy") for headers in config)
        framing = any(headers.get("frameOptions") and headers.get("contentTypeOptions") for headers in config)
        policies: tuple[str, ...] = ("cloudfront-hsts-headers",)
    else:
        sources = [
            listener for listener in stack.of(LISTENER) if _alb_header(listener, "StrictTransportSecurity")
        ]
        hsts = bool(sources)
        csp = any(_alb_header(listener, "ContentSecurityPolicy") for listener in sources)
        framing = any(
            _alb_header(listener, "XFrameOptions") and _alb_header(listener, "XContentTypeOptions")
            for listener in sources
        )
        policies = ()
    return judge(
        [
            Check(
                hsts, f"HSTS on every response ({named(sources)})", "neither CloudFront nor the ALB adds HSTS"
            ),
            Check(
                csp,
                "a Content-Security-Policy on every response",
                "no Content-Security-Policy",
                "paved:edge.contentSecurityPolicy",
            ),
            Check(framing, "X-Frame-Options and X-Content-Type-Options", "no framing or sniffing protection"),
        ],
        *policies,
        stack=stack,
    )


def audit(stack: Stack) -> Finding:
    trails = stack.of(TRAIL)
    return judge(
        [
            Check(
                bool(trails),
                f"CloudTrail ({named(trails)})",
                "no CloudTrail in this stack: the account's trail, GuardDuty and Security Hub are in the "
                "bootstrap program, opt-in",
                "bootstrap paved:audit",
            )
        ],
        stack=stack,
    )


def vulnerability_scanning(stack: Stack) -> Finding:
    repositories = stack.of(REPOSITORY)
    gated = stack.workflows_running("paved images check")
    return judge(
        [
            Check(
                bool(repositories),
                f"an ECR repository per app ({named(repositories)}), scanned by the account's registry"
                " scanning (bootstrap)",
                "no ECR repository",
                "paved:registry",
            ),
            Check(
                bool(gated),
                f"the release blocks images with findings (`paved images check` in {', '.join(gated)})",
                "no release gate on image findings",
            ),
        ],
        "ecr-tag-immutability",
        "ecr-repository-kms",
        stack=stack,
    )


# -- data ---------------------------------------------------------------------------------------------


def database(stack: Stack) -> Finding:
    primary = _primary(stack)
    return judge(
        [
            Check(
                every(primary, lambda db: db.inputs.get("storageEncrypted") is True),
                f"RDS PostgreSQL, encrypted ({named(primary)})",
                "no encrypted database",
                "paved:database",
            ),
            Check(
                every(primary, lambda db: db.inputs.get("publiclyAccessible") is False),
                "not publicly accessible",
                "the database is publicly accessible",
            ),
        ],
        "rds-storage-encrypted-cmk",
        "rds-not-public",
        "rds-auto-minor-upgrade",
        stack=stack,
    )


def connection_pooling(stack: Stack) -> Finding:
    proxies = stack.of(PROXY)
    pooled = [
        flow
        for flow in stack.proven("required")
        if any(hop.urn and ":rds/proxy:Proxy::" in hop.urn for hop in flow.evidence)
    ]
    return judge(
        [
            Check(
                bool(proxies),
                f"RDS Proxy pools connections ({named(proxies)})",
                "no RDS Proxy",
                "paved:database.proxy",
            ),
            Check(
                bool(pooled),
                f"the apps reach the database through it, proven: {', '.join(flow.id for flow in pooled)}",
                "no app is proven to connect through the proxy",
            ),
        ],
        "rds-proxy-require-tls",
        stack=stack,
    )


def read_replicas(stack: Stack) -> Finding:
    replicas = [db for db in stack.of(DB) if db.inputs.get("replicateSourceDb")]
    return judge(
        [
            Check(
                bool(replicas),
                f"read replicas ({named(replicas)})",
                "no read replica",
                "paved:database.readReplicas",
            )
        ],
        stack=stack,
    )


def backups(stack: Stack) -> Finding:
    primary = _primary(stack)
    plans = stack.of("aws:backup/plan:Plan")
    return judge(
        [
            Check(
                every(primary, lambda db: (db.inputs.get("backupRetentionPeriod") or 0) >= 7),
                f"automated backups with point-in-time recovery, kept "
                f"{max((db.inputs.get('backupRetentionPeriod') or 0 for db in primary), default=0):.0f} days",
                "automated backups kept under 7 days",
                "paved:database.backupRetentionDays",
            ),
            Check(
                every(primary, lambda db: db.inputs.get("skipFinalSnapshot") is False),
                "a final snapshot on deletion",
                "no final snapshot on deletion",
            ),
            Check(
                bool(plans),
                f"AWS Backup plans into locked vaults ({named(plans)})",
                "no AWS Backup plan",
                "paved:backup",
            ),
            Check(
                any(flow.id.startswith("backup-job-failed") for flow in stack.proven("required")),
                "a failed backup job alerts on-call (runbook backup-job-failed.md)",
                "nobody hears of a failed backup",
            ),
        ],
        "rds-backup-retention",
        "rds-final-snapshot",
        "rds-deletion-protection",
        "backup-vault-locked",
        "backup-recovery-point-encrypted",
        "elasticache-snapshot-retention",
        stack=stack,
    )


def restore_testing(stack: Stack) -> Finding:
    plans = stack.of("aws:backup/restoreTestingPlan:RestoreTestingPlan")
    return judge(
        [
            Check(
                bool(plans),
                f"AWS Backup restores the database on a schedule and checks it ({named(plans)})",
                "no restore testing plan",
                "paved:backup.restoreTesting",
            ),
            Check(
                "database-restore-drill.md" in stack.runbooks,
                "a restore drill runbook (docs/runbooks/database-restore-drill.md, `paved drill restore`)",
                "no restore drill runbook",
            ),
        ],
        stack=stack,
    )


def disaster_recovery(stack: Stack) -> Finding:
    replicated = stack.of("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    copied = [
        plan
        for plan in stack.of("aws:backup/plan:Plan")
        if any(rule.get("copyActions") for rule in plan.inputs.get("rules") or [])
    ]
    return judge(
        [
            Check(
                bool(replicated or copied),
                f"backups copied to the DR region {stack.config.dr_region} ({named([*replicated, *copied])})",
                "no backup leaves the region",
                "paved:drRegion",
            ),
            Check(
                "copy-job-failed.md" in stack.runbooks and "database-restore-drill.md" in stack.runbooks,
                "runbooks for a failed copy and a restore (copy-job-failed.md, database-restore-drill.md)",
                "no DR runbook",
            ),
        ],
        "rds-cross-region-backup",
        stack=stack,
    )


def migrations(stack: Stack) -> Finding:
    ordered = [flow for flow in stack.proven("order") if "migration Job" in flow.title]
    migrating = [app.name for app in stack.config.apps if app.database and app.database.migration_command]
    if not migrating:
        return judge(
            [
                Check(
                    False, "", "no app declares a migration command", "paved:apps[].database.migrationCommand"
                )
            ],
            stack=stack,
        )
    return judge(
        [
            Check(
                len(ordered) >= len(migrating),
                "each migrating app rolls out only after its migration Job completed: "
                + ", ".join(flow.id.removeprefix("order:") for flow in ordered),
                "an app may roll out before its migration",
            )
        ],
        stack=stack,
    )


def cache(stack: Stack) -> Finding:
    groups = stack.of(CACHE)
    reached = [flow for flow in stack.proven("required") if flow.id.endswith("->cache")]
    return judge(
        [
            Check(
                every(
                    groups,
                    lambda group: (
                        group.inputs.get("atRestEncryptionEnabled") is True
                        and group.inputs.get("transitEncryptionEnabled") is True
                    ),
                ),
                f"ElastiCache ({named(groups)}), encrypted at rest and in transit ({named(groups)})",
                "no encrypted cache",
                "paved:cache",
            ),
            Check(
                bool(reached),
                f"apps reach it, proven: {', '.join(flow.id for flow in reached)}",
                "no app is proven to reach the cache",
                "paved:cache",
            ),
        ],
        "elasticache-transit-encryption",
        "elasticache-at-rest-encryption-cmk",
        "elasticache-auth",
        stack=stack,
    )


def queues(stack: Stack) -> Finding:
    policy = _parameter(CACHE_PARAMETERS, "maxmemory-policy", stack)
    private = {app.name for app in stack.config.apps if app.public_path is None}
    workers = [deployment for deployment in stack.of(DEPLOYMENT) if deployment.name in private]
    return judge(
        [
            Check(
                policy == "noeviction",
                "the cache never evicts queue keys (maxmemory-policy noeviction)",
                f"the cache evicts keys (maxmemory-policy {policy}): BullMQ's locks and jobs could go",
                "paved:cache.use",
            ),
            Check(
                bool(workers),
                f"workers without a Service ({named(workers)})",
                "no worker app",
                "paved:apps[] (an app without publicPath)",
            ),
        ],
        stack=stack,
    )


def messaging(stack: Stack) -> Finding:
    releases = [release for release in stack.of(HELM_RELEASE) if release.inputs.get("chart") == "nats"]
    return judge(
        [
            Check(
                bool(releases),
                f"NATS with JetStream on encrypted volumes, from the pinned chart ({named(releases)})",
                "no NATS",
                "paved:nats.enabled",
            ),
            Check(
                any(
                    dig(release.inputs, "values", "config", "nats", "tls", "enabled") for release in releases
                ),
                "its clients connect over TLS",
                "NATS clients connect in plain text",
            ),
        ],
        stack=stack,
    )


def file_storage(stack: Stack) -> Finding:
    uploads = [bucket for bucket in stack.of("aws:s3/bucket:Bucket") if bucket.name == "uploads"]
    return judge(
        [
            Check(
                bool(uploads),
                f"uploads go to a private KMS-encrypted bucket through presigned URLs ({named(uploads)})",
                "no uploads bucket (paved:uploads.enabled is false)",
                "paved:uploads.enabled",
            )
        ],
        stack=stack,
    )


def data_retention(stack: Stack) -> Finding:
    groups = stack.of(LOG_GROUP)
    lifecycles = stack.of(BUCKET_LIFECYCLE)
    return judge(
        [
            Check(
                every(groups, lambda group: bool(group.inputs.get("retentionInDays"))),
                f"every log group expires its events ({len(groups)} groups)",
                "a log group keeps events forever",
            ),
            Check(
                bool(lifecycles),
                f"every bucket has lifecycle rules ({len(lifecycles)})",
                "a bucket without lifecycle rules",
            ),
            Check(
                every(_primary(stack), lambda db: bool(db.inputs.get("backupRetentionPeriod"))),
                "database backups expire after their retention",
                "no backup retention",
            ),
        ],
        "cloudwatch-log-group-retention",
        "s3-lifecycle-configuration",
        stack=stack,
    )


# -- running the apps -----------------------------------------------------------------------------------


def orchestration(stack: Stack) -> Finding:
    clusters = stack.of(CLUSTER)
    deployments = stack.of(DEPLOYMENT)
    return judge(
        [
            Check(
                bool(clusters),
                f"EKS ({named(clusters)}) with managed node groups",
                "no cluster",
                "paved:cluster",
            ),
            Check(
                bool(deployments), f"the apps as Deployments ({named(deployments)})", "no app", "paved:apps"
            ),
        ],
        "eks-supported-version",
        "eks-secrets-encryption",
        "eks-control-plane-logging",
        stack=stack,
    )


def service_discovery(stack: Stack) -> Finding:
    services = stack.of(SERVICE)
    dns = [addon for addon in stack.of(ADDON) if addon.inputs.get("addonName") == "coredns"]
    return judge(
        [
            Check(
                bool(services), f"Kubernetes Services ({named(services)})", "no Service", "paved:apps[].port"
            ),
            Check(bool(dns), "cluster DNS (CoreDNS as a managed add-on)", "no cluster DNS"),
        ],
        stack=stack,
    )


def health_checks(stack: Stack) -> Finding:
    deployments = stack.of(DEPLOYMENT)
    groups = stack.of(TARGET_GROUP)
    return judge(
        [
            Check(
                every(
                    deployments,
                    lambda deployment: all(
                        container.get("readinessProbe") and container.get("livenessProbe")
                        for container in containers(deployment)
                    ),
                ),
                f"readiness and liveness probes on every container ({named(deployments)}): Kubernetes "
                "restarts what fails",
                "a container without probes",
                "paved:apps[].healthPaths",
            ),
            Check(
                every(groups, lambda group: dig(group.inputs, "healthCheck", "enabled") is not False),
                f"the ALB checks each target's health ({named(groups)})",
                "a target group without health checks",
            ),
        ],
        "k8s-readiness-probe",
        "k8s-liveness-probe",
        "elb-target-group-health-check",
        stack=stack,
    )


def load_balancing(stack: Stack) -> Finding:
    balancers = stack.of(ALB)
    bindings = stack.of("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
    return judge(
        [
            Check(
                bool(balancers),
                f"an Application Load Balancer ({named(balancers)})",
                "no load balancer",
                "paved:edge",
            ),
            Check(
                bool(bindings),
                f"its target groups follow the pods ({named(bindings)})",
                "no app behind the load balancer",
                "paved:apps[].publicPath",
            ),
        ],
        "elb-multiple-azs",
        "elb-deletion-protection",
        stack=stack,
    )


def autoscaling(stack: Stack) -> Finding:
    autoscalers = stack.of(HPA)
    groups = stack.of(NODE_GROUP)
    return judge(
        [
            Check(
                bool(autoscalers),
                f"HorizontalPodAutoscalers ({named(autoscalers)})",
                "no HorizontalPodAutoscaler",
                "paved:apps[].replicas",
            ),
            Check(
                every(
                    groups,
                    lambda group: (
                        (dig(group.inputs, "scalingConfig", "maxSize") or 0)
                        > (dig(group.inputs, "scalingConfig", "minSize") or 0)
                    ),
                ),
                f"node groups that grow with the pods (cluster-autoscaler; {named(groups)})",
                "node groups of a fixed size",
                "paved:cluster.nodeMax",
            ),
        ],
        "k8s-deployment-has-hpa",
        stack=stack,
    )


def high_availability(stack: Stack) -> Finding:
    primary = _primary(stack)
    groups = stack.of(CACHE)
    budgets = stack.of(PDB)
    autoscalers = stack.of(HPA)
    return judge(
        [
            Check(
                every(primary, lambda db: db.inputs.get("multiAz") is True),
                "the database fails over to a standby in another AZ (Multi-AZ)",
                "a single-AZ database",
                "paved:database.multiAz",
            ),
            Check(
                every(groups, lambda group: group.inputs.get("automaticFailoverEnabled") is True),
                "the cache fails over automatically",
                "a cache without automatic failover",
                "paved:cache.replicasPerShard",
            ),
            Check(
                bool(budgets)
                and every(autoscalers, lambda hpa: (dig(hpa.inputs, "spec", "minReplicas") or 0) >= 2),
                f"apps run at least 2 replicas, with disruption budgets ({named(budgets)})",
                "an app with a single replica or no disruption budget",
                "paved:apps[].replicas",
            ),
        ],
        "rds-multi-az",
        "elasticache-automatic-failover",
        "k8s-deployment-has-pdb",
        stack=stack,
    )


def graceful_shutdown(stack: Stack) -> Finding:
    routed = {app.name for app in stack.config.apps if app.public_path is not None}
    deployments = stack.of(DEPLOYMENT)
    groups = stack.of(TARGET_GROUP)
    return judge(
        [
            Check(
                every(
                    deployments,
                    lambda deployment: (
                        bool(_pod_spec(deployment).get("terminationGracePeriodSeconds"))
                        and (
                            deployment.name not in routed
                            or all(
                                dig(container, "lifecycle", "preStop") for container in containers(deployment)
                            )
                        )
                    ),
                ),
                "pods behind the ALB outwait its deregistration (preStop); every pod has a grace period",
                "a pod is killed while still receiving traffic",
                "paved:apps[].shutdownSeconds",
            ),
            Check(
                every(groups, lambda group: group.inputs.get("deregistrationDelay") is not None),
                "the ALB drains connections before a target leaves",
                "the ALB's deregistration delay is the default",
            ),
        ],
        stack=stack,
    )


def resource_limits(stack: Stack) -> Finding:
    deployments = stack.of(DEPLOYMENT)
    return judge(
        [
            Check(
                every(
                    deployments,
                    lambda deployment: all(
                        dig(container, "resources", "requests") and dig(container, "resources", "limits")
                        for container in containers(deployment)
                    ),
                ),
                f"CPU and memory requests and limits on every container ({named(deployments)})",
                "a container without requests or limits",
                "paved:apps[].resources",
            )
        ],
        "k8s-container-resources",
        stack=stack,
    )


def zero_downtime(stack: Stack) -> Finding:
    deployments = stack.of(DEPLOYMENT)
    return judge(
        [
            Check(
                every(
                    deployments,
                    lambda deployment: (
                        dig(deployment.inputs, "spec", "strategy", "rollingUpdate", "maxUnavailable")
                        in (0, "0", "0%")
                    ),
                ),
                "rolling updates that never take a serving pod away first (maxUnavailable 0), gated on "
                "readiness",
                "an update may remove serving pods first",
            )
        ],
        "k8s-readiness-probe",
        "k8s-deployment-has-pdb",
        stack=stack,
    )


def blue_green(stack: Stack) -> Finding:
    return judge(
        [
            Check(
                False,
                "",
                "paved rolls updates in place (zero-downtime, see rollback); it has no blue-green or canary "
                "traffic switch for apps",
            )
        ],
        stack=stack,
    )


def websockets(stack: Stack) -> Finding:
    declared = [app.name for app in stack.config.apps if app.websocket]
    if not declared:
        return not_applicable("no app of this stack declares websocket: true")
    balancers = stack.of(ALB)
    return judge(
        [
            Check(
                every(balancers, lambda alb: (alb.inputs.get("idleTimeout") or 60) >= 120),
                "the ALB keeps idle WebSockets open for "
                + ", ".join(f"{alb.inputs.get('idleTimeout'):.0f} s" for alb in balancers),
                "the ALB's idle timeout closes WebSockets",
                "paved:edge.idleTimeoutSeconds",
            ),
            Check(
                bool(stack.of(CACHE)),
                "a cache for the Redis adapter that fans messages out across replicas",
                "no cache for a pub/sub adapter",
                "paved:cache",
            ),
        ],
        stack=stack,
    )


# -- delivery -----------------------------------------------------------------------------------------


def environments(stack: Stack) -> Finding:
    stacks = sorted(path.name for path in (stack.project_dir / "stacks").glob("Pulumi.*.yaml"))
    tagged = [resource for resource in stack.resources if isinstance(resource.inputs.get("tags"), dict)]
    environment = stack.config.environment
    return judge(
        [
            Check(
                len(stacks) >= 2,
                f"separate stacks from one program, each validated before any resource exists, with "
                f"per-environment presets ({', '.join(stacks)}); `paved diff` lists what differs",
                "one environment only",
            ),
            Check(
                every(tagged, lambda resource: resource.inputs["tags"].get("environment") == environment),
                f"every tagged resource ({len(tagged)}) carries environment={environment}",
                "resources that don't say their environment",
                "paved:tags",
            ),
        ],
        "aws-required-tags",
        stack=stack,
    )


def ci_cd(stack: Stack) -> Finding:
    workflows = sorted(path.name for path in (stack.project_dir / ".github" / "workflows").glob("*.yml"))
    repositories = stack.of(REPOSITORY)
    return judge(
        [
            Check(
                {"preview.yml", "deploy.yml"} <= set(workflows),
                f"GitHub Actions workflows to copy ({', '.join(workflows)}): preview with the policy pack on"
                " pull "
                "requests, deploy with OIDC roles, verify",
                "no CI/CD workflow",
            ),
            Check(
                bool(repositories),
                f"images in ECR ({named(repositories)})",
                "no image registry",
                "paved:registry",
            ),
        ],
        stack=stack,
    )


def rollback(stack: Stack) -> Finding:
    lifecycles = stack.of(ECR_LIFECYCLE)
    proposing = stack.workflows_running("paved rollback")
    return judge(
        [
            Check(
                bool(proposing),
                "a failed verification proposes `paved rollback` (the previous image, through Pulumi) in "
                + ", ".join(proposing),
                "no rollback path",
            ),
            Check(
                bool(lifecycles),
                f"ECR keeps the previous releases ({named(lifecycles)})",
                "previous images may expire",
                "paved:registry.keepReleases",
            ),
        ],
        "ecr-tag-immutability",
        "ecr-lifecycle-policy",
        stack=stack,
    )


# -- observability ------------------------------------------------------------------------------------


def _observability_addon(stack: Stack) -> list:
    return [addon for addon in stack.of(ADDON) if addon.inputs.get("addonName") == OBSERVABILITY_ADDON]


def logging(stack: Stack) -> Finding:
    groups = stack.of(LOG_GROUP)
    return judge(
        [
            Check(
                bool(_observability_addon(stack)),
                "container logs shipped to CloudWatch Logs by the observability add-on",
                "container logs stay on the nodes",
            ),
            Check(
                every(
                    groups,
                    lambda group: (
                        bool(group.inputs.get("kmsKeyId")) and bool(group.inputs.get("retentionInDays"))
                    ),
                ),
                f"{len(groups)} log groups, KMS-encrypted, with retention",
                "a log group without a key or retention",
            ),
            Check(
                every(stack.of(CLUSTER), lambda cluster: bool(cluster.inputs.get("enabledClusterLogTypes"))),
                "EKS control-plane and audit logs",
                "no control-plane logs",
            ),
        ],
        "cloudwatch-log-group-encrypted",
        "cloudwatch-log-group-retention",
        "elb-access-logs",
        "cloudfront-access-logging",
        "vpc-flow-logs-enabled",
        "eks-control-plane-logging",
        stack=stack,
    )


def metrics(stack: Stack) -> Finding:
    addons = _observability_addon(stack)
    scraped = [
        addon for addon in addons if "prometheus" in str(addon.inputs.get("configurationValues") or "")
    ]
    return judge(
        [
            Check(
                bool(addons),
                "Container Insights: node, pod and container CPU, memory, restarts (observability add-on)",
                "no container metrics",
            ),
            Check(
                every(_primary(stack), lambda db: (db.inputs.get("monitoringInterval") or 0) > 0),
                "RDS Enhanced Monitoring",
                "no OS metrics for the database",
            ),
            Check(
                bool(scraped),
                "the apps' Prometheus metrics scraped into CloudWatch",
                "the apps' own Prometheus metrics are not scraped",
                "paved:apps[].metricsPath",
            ),
        ],
        "rds-enhanced-monitoring",
        stack=stack,
    )


def database_insights(stack: Stack) -> Finding:
    primary = _primary(stack)
    return judge(
        [
            Check(
                every(primary, lambda db: db.inputs.get("performanceInsightsEnabled") is True),
                "Performance Insights on the database",
                "no Performance Insights",
                "paved:database.performanceInsightsRetentionDays",
            ),
            Check(
                _parameter(DB_PARAMETERS, "log_min_duration_statement", stack) not in (None, "-1")
                and every(
                    primary, lambda db: "postgresql" in (db.inputs.get("enabledCloudwatchLogsExports") or [])
                ),
                f"slow statements (over {_parameter(DB_PARAMETERS, 'log_min_duration_statement', stack)} ms) "
                "logged to CloudWatch Logs",
                "no slow query log",
            ),
            Check(
                "pg_stat_statements" in (_parameter(DB_PARAMETERS, "shared_preload_libraries", stack) or ""),
                "pg_stat_statements loaded",
                "no per-statement statistics",
            ),
        ],
        "rds-log-exports",
        "rds-performance-insights-cmk",
        stack=stack,
    )


def dashboards(stack: Stack) -> Finding:
    boards = stack.of("aws:cloudwatch/dashboard:Dashboard")
    return judge(
        [Check(bool(boards), f"a CloudWatch dashboard by tier ({named(boards)})", "no dashboard")],
        stack=stack,
    )


def _metric_alarms(stack: Stack, namespace: str, *metric_names: str) -> list:
    found = []
    for alarm in stack.of(ALARM):
        queries = alarm.inputs.get("metricQueries") or []
        pairs = [(alarm.inputs.get("namespace"), alarm.inputs.get("metricName"))] + [
            (dig(query, "metric", "namespace"), dig(query, "metric", "metricName")) for query in queries
        ]
        if any(space == namespace and name in metric_names for space, name in pairs):
            found.append(alarm)
    return found


def alerting(stack: Stack) -> Finding:
    alarms = stack.of(ALARM)
    # A burn-rate window alarm notifies nobody itself: the composite alarm that ANDs it with its partner does.
    composed = " ".join(
        str(composite.inputs.get("alarmRule"))
        for composite in stack.of(COMPOSITE_ALARM)
        if composite.inputs.get("alarmActions")
    )
    linked = [
        alarm
        for alarm in alarms
        if any(
            f"docs/runbooks/{runbook})" in str(alarm.inputs.get("alarmDescription"))
            for runbook in stack.runbooks
        )
    ]
    seeds = {
        "error rate (ALB 5xx)": _metric_alarms(stack, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        "response time (ALB p95)": _metric_alarms(stack, "AWS/ApplicationELB", "TargetResponseTime"),
        "database connection failures": _metric_alarms(
            stack, "AWS/RDS", "DatabaseConnectionsSetupFailed", "ClientConnectionsSetupFailedAuth"
        ),
        "free storage": _metric_alarms(stack, "AWS/RDS", "FreeStorageSpace"),
        "memory": _metric_alarms(stack, "ContainerInsights", "node_memory_utilization"),
        "failed health checks": _metric_alarms(stack, "AWS/ApplicationELB", "UnHealthyHostCount"),
    }
    return judge(
        [
            Check(
                every(
                    alarms,
                    lambda alarm: (
                        bool(alarm.inputs.get("alarmActions"))
                        or f'ALARM("{alarm.inputs.get("name")}")' in composed
                    ),
                ),
                f"{len(alarms)} alarms, each notifying on-call through SNS, alone or in a composite alarm",
                "an alarm that notifies nobody",
                "paved:alerts.emails",
            ),
            Check(
                len(linked) == len(alarms),
                f"each alarm names its runbook ({len(linked)} of {len(alarms)})",
                f"{len(alarms) - len(linked)} alarms name no runbook",
            ),
            *(
                Check(bool(found), f"{what}: {named(found[:3])}", f"no alarm on {what}")
                for what, found in seeds.items()
            ),
        ],
        "cloudwatch-alarm-has-actions",
        "sns-topic-encrypted",
        stack=stack,
    )


def slo(stack: Stack) -> Finding:
    burn = stack.of(COMPOSITE_ALARM)
    return judge(
        [
            Check(
                bool(burn),
                f"latency and error-rate objectives per public app, alarmed on fast and slow burn rates "
                f"({named(burn)})",
                "no SLO alarm",
                "paved:apps[].slo",
            )
        ],
        stack=stack,
    )


def uptime(stack: Stack) -> Finding:
    canaries = stack.of(CANARY)
    alarmed = _metric_alarms(stack, "CloudWatchSynthetics", "SuccessPercent")
    return judge(
        [
            Check(
                bool(canaries),
                f"Synthetics canaries call each public app from outside ({named(canaries)})",
                "no uptime canary",
                "paved:uptime.enabled",
            ),
            Check(bool(alarmed), f"alarms on their success rate ({named(alarmed)})", "no alarm on uptime"),
        ],
        stack=stack,
    )


def tracing(stack: Stack) -> Finding:
    traced = [
        deployment
        for deployment in stack.of(DEPLOYMENT)
        if any(
            key.startswith(TRACING_ANNOTATION)
            for key in (dig(deployment.inputs, "spec", "template", "metadata", "annotations") or {})
        )
    ]
    return judge(
        [
            Check(
                bool(traced),
                f"apps traced through Application Signals (OpenTelemetry; {named(traced)})",
                "no app is traced",
                "paved:apps[].tracing",
            )
        ],
        stack=stack,
    )


def runbooks(stack: Stack) -> Finding:
    return judge(
        [
            Check(
                bool(stack.runbooks),
                f"{len(stack.runbooks)} runbooks in docs/runbooks, linked from the alarms",
                "no runbook",
            ),
            Check(
                stack.shipped("docs/delivery.md"),
                "a deployment guide from an empty account to a verified release (docs/delivery.md)",
                "no deployment guide",
            ),
        ],
        stack=stack,
    )


def architecture_diagram(stack: Stack) -> Finding:
    held = stack.proven("required")
    return judge(
        [
            Check(
                bool(held),
                f"`paved diagram --stack {stack.name}` draws the {len(held)} proven data flows by tier",
                "no proven flow to draw",
            )
        ],
        stack=stack,
    )


def cdn(stack: Stack) -> Finding:
    distributions = stack.of(DISTRIBUTION)
    assets = [
        behavior
        for distribution in distributions
        for behavior in distribution.inputs.get("orderedCacheBehaviors") or []
    ]
    return judge(
        [
            Check(
                bool(distributions), f"CloudFront ({named(distributions)})", "no CDN", "paved:edge.cloudfront"
            ),
            Check(
                bool(assets),
                "static assets cached at the edge from S3 ("
                + ", ".join(str(behavior.get("pathPattern")) for behavior in assets)
                + "), "
                "published by `paved assets publish`",
                "no asset path on the CDN",
                "paved:edge.assetPaths",
            ),
        ],
        "cloudfront-s3-origin-oac",
        "cloudfront-viewer-https",
        stack=stack,
    )


def compression(stack: Stack) -> Finding:
    behaviors = [behavior for distribution in stack.of(DISTRIBUTION) for behavior in _behaviors(distribution)]
    compressed = [behavior for behavior in behaviors if behavior.get("compress") is True]
    return judge(
        [
            Check(
                bool(compressed),
                "CloudFront compresses the asset paths: "
                + ", ".join(str(behavior.get("pathPattern")) for behavior in compressed),
                "nothing is compressed at the edge",
                "paved:edge.cloudfront",
            ),
            Check(
                bool(behaviors) and len(compressed) == len(behaviors),
                "every path compressed at the edge",
                "the app's responses are not cached, so not compressed at the edge: the app compresses them",
            ),
        ],
        stack=stack,
    )


FAMILIES: dict[str, Rule] = {
    "application": application,
    "process": process,
    "context": context,
    "tls": tls,
    "secrets": secrets,
    "environments": environments,
    "database": database,
    "connection-pooling": connection_pooling,
    "read-replicas": read_replicas,
    "backups": backups,
    "restore-testing": restore_testing,
    "disaster-recovery": disaster_recovery,
    "migrations": migrations,
    "cache": cache,
    "queues": queues,
    "messaging": messaging,
    "cdn": cdn,
    "file-storage": file_storage,
    "health-checks": health_checks,
    "load-balancing": load_balancing,
    "autoscaling": autoscaling,
    "high-availability": high_availability,
    "graceful-shutdown": graceful_shutdown,
    "resource-limits": resource_limits,
    "container-security": container_security,
    "network-security": network_security,
    "rate-limiting": rate_limiting,
    "waf": waf,
    "cors": cors,
    "security-headers": security_headers,
    "logging": logging,
    "audit": audit,
    "metrics": metrics,
    "database-insights": database_insights,
    "dashboards": dashboards,
    "alerting": alerting,
    "slo": slo,
    "uptime": uptime,
    "tracing": tracing,
    "ci-cd": ci_cd,
    "vulnerability-scanning": vulnerability_scanning,
    "zero-downtime": zero_downtime,
    "blue-green": blue_green,
    "rollback": rollback,
    "runbooks": runbooks,
    "architecture-diagram": architecture_diagram,
    "service-discovery": service_discovery,
    "orchestration": orchestration,
    "websockets": websockets,
    "compression": compression,
    "data-retention": data_retention,
}

__all__ = ["FAMILIES", "Rule", "Status"]
