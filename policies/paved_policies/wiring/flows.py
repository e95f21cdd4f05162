"""The flows a paved stack must have and must not have, derived from its config, and their proofs.

Nothing here is written per stack: each app in `paved:apps` brings its flows (public path → edge flow,
`database` → database flow, a `cacheUrl` secret → cache flow, secrets → secret-sync flow), and each data
store, key and node group brings the forbidden flows that guard it. The network, identity and order models
answer the questions; this module asks them and names the answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from paved_policies.wiring.identity import IdentityModel
from paved_policies.wiring.network import Endpoint, NetworkModel
from paved_policies.wiring.order import order_findings
from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot
from paved_policies.wiring.verdicts import Finding, FlowKind, FlowResult, Hop, Verdict, combine

POSTGRES_PORT = 5432
VALKEY_PORT = 6379
HTTPS_PORT = 443

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
SECRET = "aws:secretsmanager/secret:Secret"
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PROXY = "aws:rds/proxy:Proxy"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ROUTE53_RECORD = "aws:route53/record:Record"
ROLE = "aws:iam/role:Role"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EVENT_SUBSCRIPTION = "aws:rds/eventSubscription:EventSubscription"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_VAULT = "aws:backup/vault:Vault"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_DELIVERY_DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"

# The AWS services a node needs before it can run a pod: its image layers from ECR (api + dkr, layers from
# S3), and STS for the credentials of IRSA pods. https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html
NODE_SERVICES = ("ecr.api", "ecr.dkr", "s3", "sts")


def _broken(reason: str, *hops: Hop) -> Finding:
    return Finding(Verdict.BROKEN, hops, reason)


def _untraced(value: Any) -> bool:
    return UNKNOWN in json.dumps(value)


def _link(resource: Resource, prop: str, value: Any, missing: str) -> Finding:
    """A link that does not resolve: unresolved while the value is unknown (never guessed), else broken."""
    if _untraced(value):
        return Finding(
            Verdict.UNRESOLVED,
            (),
            f"{resource.name} {prop}: unknown in the preview and not traced to an output",
        )
    return _broken(missing, Hop("link", f"{resource.name} {prop} → ?", resource.urn, prop))


def _result(flow_id: str, kind: FlowKind, title: str, finding: Finding) -> FlowResult:
    return FlowResult(flow_id, kind, title, finding.verdict, finding.hops, finding.reason, (finding,))


def _absent(finding: Finding, what: str) -> Finding:
    """A forbidden flow: proven absent when the path is broken, present (BROKEN) when it is proven."""
    if finding.verdict is Verdict.BROKEN:
        return Finding(Verdict.PROVEN, finding.hops, finding.reason)
    if finding.verdict is Verdict.PROVEN:
        return Finding(Verdict.BROKEN, finding.hops, f"{what} is possible")
    return finding


# -- what the config says -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class App:
    name: str
    config: Mapping[str, Any]
    # The app's Deployment, or its CronJob (paved:apps[].kind cronjob).
    workload: Resource

    @property
    def namespace(self) -> str:
        return str(self.workload.get("metadata.namespace", self.name))

    @property
    def pods(self) -> Endpoint:
        template = "spec.jobTemplate.spec.template" if self.workload.type == CRON_JOB else "spec.template"
        labels = self.workload.get(f"{template}.metadata.labels") or {}
        return Endpoint.pods(self.namespace, dict(labels))

    @property
    def public(self) -> bool:
        return bool(self.config.get("publicPath"))

    @property
    def database(self) -> Mapping[str, Any] | None:
        database = self.config.get("database")
        return database if isinstance(database, Mapping) else None

    @property
    def uses_database(self) -> bool:
        """`database` config, or a DATABASE_URL it expects from Secrets Manager: either way it logs in."""
        return self.database is not None or "DATABASE_URL" in (self.config.get("secrets") or [])

    @property
    def port(self) -> int:
        return int(self.config.get("port", 0))


class Stack:
    """The snapshot read through paved's config: which resource is each app's, its role, its secrets."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.network = NetworkModel.from_snapshot(snapshot)
        self.identity = IdentityModel.from_snapshot(snapshot)
        self.config = snapshot.config
        self.region = snapshot.place.region
        apps = self.config.get("paved:apps") or []
        self.apps = [app for app in (self._app(entry) for entry in apps if isinstance(entry, Mapping)) if app]
        self._log_groups: dict[str, Resource] | None = None

    def _app(self, entry: Mapping[str, Any]) -> App | None:
        name = str(entry.get("name", ""))
        named = [
            self.first(kind, lambda r: r.get("metadata.name") == name) for kind in (DEPLOYMENT, CRON_JOB)
        ]
        workload = next((resource for resource in named if resource), None)
        return App(name, entry, workload) if workload else None

    def first(self, type_: str, where: Callable[[Resource], bool] = lambda _: True) -> Resource | None:
        return next((r for r in self.snapshot.of_type(type_) if where(r)), None)

    def in_namespace(self, type_: str, namespace: str) -> list[Resource]:
        return [r for r in self.snapshot.of_type(type_) if r.get("metadata.namespace") == namespace]

    def primary_database(self) -> Resource | None:
        # The primary has no replicateSourceDb; replicas name it.
        return self.first(RDS_INSTANCE, lambda r: not r.get("replicateSourceDb"))

    def secret_named(self, key: str) -> Resource | None:
        """A Secrets Manager secret by the name or ARN an ExternalSecret's remoteRef.key gives."""
        for secret in self.snapshot.of_type(SECRET):
            if key in (secret.get("name"), self.snapshot.output(secret, "arn")):
                return secret
        return None

    def app_secrets(self, app: App) -> list[tuple[str, Resource | None]]:
        """(remoteRef.key, secret) for every value the app's ExternalSecrets sync."""
        keys = [
            str(item.get("remoteRef", {}).get("key"))
            for external in self.in_namespace(EXTERNAL_SECRET, app.namespace)
            for item in external.get("spec.data") or []
        ]
        return [(key, self.secret_named(key)) for key in keys]

    def sync_role(self, app: App) -> tuple[Resource, str] | Finding:
        """The role External Secrets assumes for this app (its SecretStore's JWT service account's role) and
        that service account; or why there is none."""
        store = self.first(SECRET_STORE, lambda r: r.get("metadata.namespace") == app.namespace)
        account = store.get("spec.provider.aws.auth.jwt.serviceAccountRef.name") if store else None
        if not account:
            return _broken(f"no SecretStore with a JWT service account in namespace {app.namespace}")
        service_account = self.first(
            SERVICE_ACCOUNT,
            lambda r: r.get("metadata.namespace") == app.namespace and r.get("metadata.name") == account,
        )
        if service_account is None:
            return _broken(f"no service account {app.namespace}/{account}")
        annotations = service_account.get("metadata.annotations") or {}
        arn = annotations.get("eks.amazonaws.com/role-arn")
        role = self.snapshot.referenced(arn)
        if role is None:
            missing = f"{service_account.name}: no eks.amazonaws.com/role-arn of a role of the stack"
            return _link(service_account, "metadata.annotations", arn, missing)
        return role, str(account)

    def log_group(self, reference: Any) -> Resource | None:
        """A log group by ARN (with or without `:*`) or by name."""
        if self._log_groups is None:
            # Indexed once: every log producer asks, and a large stack has as many groups as producers.
            self._log_groups = {}
            for group in self.snapshot.of_type(LOG_GROUP):
                for key in (group.get("name"), self.snapshot.output(group, "arn")):
                    if isinstance(key, str):
                        self._log_groups.setdefault(key, group)  # the first group named so, as before
        return self._log_groups.get(str(reference).removesuffix(":*"))

    def arn(self, service: str, resource: str) -> str:
        place = self.snapshot.place
        return f"arn:{place.partition}:{service}:{place.region}:{place.account}:{resource}"

    def issuer(self) -> str | None:
        cluster = self.first(EKS_CLUSTER)
        return str(self.snapshot.output(cluster, "identities")[0]["oidcs"][0]["issuer"]) if cluster else None


# -- required flows -----------------------------------------------------------------------------------------


def edge_flow(stack: Stack, app: App) -> FlowResult:
    """internet → CloudFront → ALB :443 (origin locked to CloudFront) → the app's pods on its port."""
    title = f"internet → CloudFront → ALB :443 → {app.name} pods :{app.port}"
    flow_id = f"edge->{app.name}"
    distribution = stack.first(DISTRIBUTION)
    alb = stack.first(LOAD_BALANCER)
    if distribution is None or alb is None:
        return _result(flow_id, "required", title, _broken("no CloudFront distribution or ALB in the stack"))
    origin = _alb_origin(stack, distribution, alb)
    return _result(
        flow_id,
        "required",
        title,
        combine(
            origin,
            stack.network.reach(Endpoint.cloudfront(), Endpoint.resource(alb.urn), HTTPS_PORT),
            stack.network.reach(Endpoint.resource(alb.urn), app.pods, app.port),
            _service_ports(stack, app),
        ),
    )


def _alb_origin(stack: Stack, distribution: Resource, alb: Resource) -> Finding:
    """CloudFront's custom origin is the ALB: directly by its DNS name, or through a Route 53 alias to it."""
    alb_name = stack.snapshot.output(alb, "dnsName")
    for origin in distribution.get("origins") or []:
        if "customOriginConfig" not in origin:
            continue
        domain = origin.get("domainName")
        if domain == alb_name:
            return Finding(
                Verdict.PROVEN, (Hop("origin", f"{distribution.name} → {alb.name}", distribution.urn),)
            )
        for record in stack.snapshot.of_type(ROUTE53_RECORD):
            aliases = record.get("aliases") or []
            if record.get("name") == domain and any(a.get("name") == alb_name for a in aliases):
                hop = Hop(
                    "origin", f"{distribution.name} → {domain} (alias {record.name}) → {alb.name}", record.urn
                )
                return Finding(Verdict.PROVEN, (hop,))
    untraced = [
        record
        for record in stack.snapshot.of_type(ROUTE53_RECORD)
        if _untraced(record.get("aliases")) or _untraced(record.get("name"))
    ]
    origins = distribution.get("origins")
    if _untraced(origins) or untraced:
        where, prop = (distribution, "origins") if _untraced(origins) else (untraced[0], "aliases")
        return _link(where, prop, UNKNOWN, "")
    return _broken(
        f"{distribution.name}: no custom origin resolves to {alb.name}", Hop("origin", "?", distribution.urn)
    )


def _service_ports(stack: Stack, app: App) -> Finding:
    """TargetGroupBinding → Service port → the container port the pods listen on."""
    binding = stack.first(TARGET_GROUP_BINDING, lambda r: r.get("metadata.namespace") == app.namespace)
    if binding is None:
        return _broken(f"no TargetGroupBinding in namespace {app.namespace}")
    service_name = binding.get("spec.serviceRef.name")
    service = stack.first(
        SERVICE,
        lambda r: r.get("metadata.namespace") == app.namespace and r.get("metadata.name") == service_name,
    )
    if service is None:
        return _broken(
            f"{binding.name}: spec.serviceRef.name {service_name!r} is no Service in {app.namespace}"
        )
    port = next(
        (p for p in service.get("spec.ports") or [] if p.get("port") == binding.get("spec.serviceRef.port")),
        None,
    )
    if port is None:
        return _broken(f"{binding.name}: spec.serviceRef.port is not a port of Service {service.name}")
    containers = app.workload.get("spec.template.spec.containers") or []
    container_ports = [p for c in containers for p in c.get("ports") or []]
    target = port.get("targetPort")
    matched = [p for p in container_ports if target in (p.get("name"), p.get("containerPort"))]
    if not matched or matched[0].get("containerPort") != app.port:
        return _broken(f"Service {service.name}: targetPort {target!r} is not the container port {app.port}")
    return Finding(
        Verdict.PROVEN,
        (
            Hop(
                "service",
                f"{binding.name} → {service.name}:{int(port.get('port'))} → container :{app.port}",
                service.urn,
            ),
        ),
    )


def database_flow(stack: Stack, app: App, pods: Endpoint | None = None, who: str | None = None) -> Finding:
    """Pods → proxy :5432 → the instance :5432 (or pods → the instance without a proxy)."""
    pods = pods or app.pods
    primary = stack.primary_database()
    if primary is None:
        return _broken("no RDS instance in the stack")
    proxy = stack.first(RDS_PROXY)
    if proxy is None:
        return stack.network.reach(pods, Endpoint.resource(primary.urn), POSTGRES_PORT)
    return combine(
        stack.network.reach(pods, Endpoint.resource(proxy.urn), POSTGRES_PORT),
        stack.network.reach(Endpoint.resource(proxy.urn), Endpoint.resource(primary.urn), POSTGRES_PORT),
    )


def database_login(stack: Stack, app: App) -> Finding:
    """iam: the app's role may rds-db:connect as its user; password: the proxy may read the user's secret."""
    database = app.database or {}
    user = str(app.name).replace("-", "_")
    proxy = stack.first(RDS_PROXY)
    if database.get("auth") == "iam":
        sync = stack.sync_role(app)
        if isinstance(sync, Finding):
            return sync
        # The proxy's id is its ARN's last segment; without a proxy, the instance's resource id.
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam.html
        primary = stack.primary_database()
        if proxy is not None:
            resource_id = str(stack.snapshot.output(proxy, "arn")).rsplit(":", 1)[-1]
        elif primary is not None:
            resource_id = str(stack.snapshot.output(primary, "resourceId"))
        else:
            return _broken("no RDS instance in the stack")
        # The pods sign a token with their IRSA role's credentials, which STS hands them for the service
        # account's token: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html
        role, account = sync
        arn = stack.arn("rds-db", f"dbuser:{resource_id}/{user}")
        issuer = str(stack.issuer()).removeprefix("https://")
        return combine(
            stack.identity.assumable(role.urn, web_identity=(issuer, app.namespace, account)),
            stack.network.reach(app.pods, Endpoint.aws_service("sts"), HTTPS_PORT),
            stack.identity.allowed(role.urn, "rds-db:connect", arn, {}),
        )
    if proxy is None:
        return Finding(Verdict.PROVEN, (Hop("login", f"{app.name} logs in with its password directly"),))
    secret = next(
        (
            s
            for s in stack.snapshot.of_type(SECRET)
            if str(s.get("name", "")).endswith(f"/database/users/{user}")
        ),
        None,
    )
    if secret is None:
        return _broken(f"no Secrets Manager secret for database user {user}")
    arn = stack.snapshot.output(secret, "arn")
    auths = [a for a in proxy.get("auths") or [] if a.get("secretArn") == arn]
    if not auths:
        return _link(
            proxy, "auths", proxy.get("auths"), f"{proxy.name}: auths has no entry for {secret.name}"
        )
    proxy_role = stack.snapshot.referenced(proxy.get("roleArn"))
    if proxy_role is None:
        return _link(proxy, "roleArn", proxy.get("roleArn"), f"{proxy.name}: roleArn is no role of the stack")
    return combine(
        Finding(Verdict.PROVEN, (Hop("proxy-auth", f"{proxy.name} → {secret.name}", proxy.urn, "auths"),)),
        _read_secret(stack, proxy_role, secret, {"aws:SourceAccount": stack.snapshot.place.account}),
    )


def _read_secret(stack: Stack, role: Resource, secret: Resource, context: Mapping[str, Any]) -> Finding:
    """GetSecretValue on the secret, and kms:Decrypt on its key through Secrets Manager (IAM, key policy)."""
    arn = str(stack.snapshot.output(secret, "arn"))
    read = stack.identity.allowed(role.urn, "secretsmanager:GetSecretValue", arn, context)
    key_arn = secret.get("kmsKeyId")
    if not key_arn:
        return read
    decrypt_context = {
        **context,
        "kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com",
        "kms:EncryptionContext:SecretARN": arn,
        "kms:CallerAccount": stack.snapshot.place.account,
    }
    return combine(read, stack.identity.allowed(role.urn, "kms:Decrypt", str(key_arn), decrypt_context))


def cache_flow(stack: Stack, app: App) -> FlowResult:
    """Pods → Valkey :6379, with TLS in transit."""
    title = f"{app.name} pods → Valkey :{VALKEY_PORT} (TLS)"
    cache = stack.first(REPLICATION_GROUP)
    if cache is None:
        return _result(f"{app.name}->cache", "required", title, _broken("no ElastiCache replication group"))
    tls = (
        Finding(Verdict.PROVEN, (Hop("tls", f"{cache.name} transitEncryptionEnabled", cache.urn),))
        if cache.get("transitEncryptionEnabled") is True
        else _broken(f"{cache.name}: transitEncryptionEnabled is not true", Hop("tls", "?", cache.urn))
    )
    reach = stack.network.reach(app.pods, Endpoint.resource(cache.urn), VALKEY_PORT)
    return _result(f"{app.name}->cache", "required", title, combine(reach, tls))


def secret_sync_flow(stack: Stack, app: App) -> FlowResult:
    """External Secrets, acting as the app's IRSA role with its service account token, reads its secrets."""
    title = f"secret sync as {app.name}'s role → its {{n}} secrets (GetSecretValue + kms:Decrypt)"
    flow_id = f"{app.name}->secrets"
    sync = stack.sync_role(app)
    secrets = stack.app_secrets(app)
    title = title.format(n=len(secrets))
    if isinstance(sync, Finding):
        return _result(flow_id, "required", title, sync)
    role, account = sync
    issuer = stack.issuer()
    assume = stack.identity.assumable(
        role.urn, web_identity=(str(issuer).removeprefix("https://"), app.namespace, account)
    )
    findings = [assume]
    for key, secret in secrets:
        if secret is None:
            missing = f"{app.name}: ExternalSecret key {key} is no secret of this stack"
            findings.append(_link(app.workload, "ExternalSecret remoteRef.key", key, missing))
            continue
        findings.append(_read_secret(stack, role, secret, {}))
    node_group = stack.first(NODE_GROUP)
    if node_group is not None:
        findings.append(
            stack.network.reach(Endpoint.resource(node_group.urn), Endpoint.aws_service("sts"), HTTPS_PORT)
        )
    return _result(flow_id, "required", title, combine(*findings))


def node_flows(stack: Stack) -> Iterator[FlowResult]:
    for node_group in stack.snapshot.of_type(NODE_GROUP):
        for service in NODE_SERVICES:
            yield _result(
                f"{node_group.name}->{service}",
                "required",
                f"nodes {node_group.name} → {service} :443",
                stack.network.reach(
                    Endpoint.resource(node_group.urn), Endpoint.aws_service(service), HTTPS_PORT
                ),
            )


def deployer_flows(stack: Stack) -> Iterator[FlowResult]:
    """The deploy runner → EKS API :443 through the control-plane security groups (#7)."""
    cluster = stack.first(EKS_CLUSTER)
    deployer = (stack.config.get("paved:cluster") or {}).get("deployer") or {}
    if cluster is None:
        return
    sources = [(f"sg {sg}", Endpoint.security_group(sg)) for sg in deployer.get("securityGroupIds") or []]
    sources += [(f"cidr {cidr}", Endpoint.cidr(cidr)) for cidr in deployer.get("cidrs") or []]
    public = cluster.get("vpcConfig.endpointPublicAccess") is True
    if not sources and not public:
        # `pulumi up` itself must reach the API to create the Kubernetes resources.
        yield _result(
            "deployer->eks-api",
            "required",
            "deploy runner → EKS API :443",
            _broken(
                f"{cluster.name}: the endpoint is private and no deployer security group or CIDR is admitted",
                Hop("sg-rule", f"? → {cluster.name}:443", cluster.urn, "vpcConfig.securityGroupIds"),
            ),
        )
    for label, source in sources:
        yield _result(
            f"deployer-{label.split()[1]}->eks-api",
            "required",
            f"deploy runner ({label}) → EKS API :443",
            stack.network.reach(source, Endpoint.resource(cluster.urn), HTTPS_PORT),
        )


def job_flows(stack: Stack) -> Iterator[FlowResult]:
    """The database bootstrap Job and each app's migration Job → the database."""
    for job in stack.snapshot.of_type(JOB):
        labels = job.get("spec.template.metadata.labels") or {}
        pods = Endpoint.pods(str(job.get("metadata.namespace")), dict(labels))
        primary = stack.primary_database()
        finding = (
            database_flow(stack, App(job.name, {}, job), pods)
            if primary
            else _broken("no RDS instance in the stack")
        )
        yield _result(
            f"job-{job.name}->database", "required", f"Job {job.name} → database :{POSTGRES_PORT}", finding
        )


def producer_flows(stack: Stack) -> Iterator[FlowResult]:
    """Flow logs → their log group (the delivery role, and the log group's key); alarms, rules and event
    subscriptions → their topics."""
    for flow_log in stack.snapshot.of_type(FLOW_LOG):
        role = stack.snapshot.referenced(flow_log.get("iamRoleArn"))
        group = stack.snapshot.referenced(flow_log.get("logDestination"))
        title = f"flow log {flow_log.name} → log group"
        if role is None or group is None:
            prop = "iamRoleArn" if role is None else "logDestination"
            missing = _link(
                flow_log, prop, flow_log.get(prop), f"{flow_log.name}: {prop} is not of the stack"
            )
            yield _result(f"{flow_log.name}->logs", "required", title, missing)
            continue
        arn = f"{stack.snapshot.output(group, 'arn')}:*"
        # The flow log's own region (a DR network's is not the stack's): its source ARN and Logs there.
        place = stack.snapshot.place_of(flow_log)
        flow_logs_arn = f"arn:{place.partition}:ec2:{place.region}:{place.account}:vpc-flow-log/*"
        yield _result(
            f"{flow_log.name}->logs",
            "required",
            f"{title} {group.name}",
            combine(
                stack.identity.assumable(
                    role.urn,
                    service="vpc-flow-logs.amazonaws.com",
                    context={
                        "aws:SourceAccount": place.account,
                        "aws:SourceArn": flow_logs_arn,
                    },
                ),
                stack.identity.allowed(role.urn, "logs:PutLogEvents", arn, {}),
                _service_uses_key(
                    stack,
                    group.get("kmsKeyId"),
                    f"logs.{place.region}.amazonaws.com",
                    {
                        "kms:EncryptionContext:aws:logs:arn": str(stack.snapshot.output(group, "arn")),
                    },
                ),
            ),
        )
    yield from publisher_flows(stack)


def _publishes(stack: Stack, topic: Resource, service: str, source_arn: Any) -> Finding:
    """`service` may publish to `topic` on behalf of `source_arn`: the topic policy admits it, and the topic's
    key lets it encrypt. What a service sends when it publishes: the account and its resource as the source.
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"""
    topic_arn = str(stack.snapshot.output(topic, "arn"))
    context = {"aws:SourceAccount": stack.snapshot.place.account, "aws:SourceArn": str(source_arn)}
    # SNS asks KMS for the topic's data keys with the topic in the encryption context.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    key_context = {**context, "kms:EncryptionContext:aws:sns:topicArn": topic_arn}
    return combine(
        stack.identity.service_allowed(service, "sns:Publish", topic_arn, context),
        _service_uses_key(stack, topic.get("kmsMasterKeyId"), service, key_context),
    )


def _topic(stack: Stack, value: Any) -> Resource | None:
    found = stack.snapshot.referenced(value)
    return found if found is not None and found.type == SNS_TOPIC else None


def _named(stack: Stack, type_: str, name_input: str, value: Any) -> Resource | None:
    """The stack's resource of `type_` that `value` refers to: by output, or by the name the program gave it
    (a name set in the program is known in the preview, so it carries no trace of its resource)."""
    found = stack.snapshot.referenced(value)
    if found is not None:
        return found if found.type == type_ else None
    named = [r for r in stack.snapshot.of_type(type_) if value is not None and r.get(name_input) == value]
    return named[0] if len(named) == 1 else None


def publisher_flows(stack: Stack) -> Iterator[FlowResult]:
    """The AWS services that publish to the stack's topics: CloudWatch alarms
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html), EventBridge
    rules (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions),
    RDS event subscriptions (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.GrantingPermissions.html)
    and ElastiCache notifications."""
    # (flow id, title, topic, publishing service, the resource it publishes for)
    publishers: list[tuple[str, str, Resource, str, Resource]] = []
    alarms_by_topic: dict[str, Resource] = {}
    for alarm in stack.snapshot.of_type(METRIC_ALARM):
        for action in alarm.get("alarmActions") or []:
            topic = _topic(stack, action)
            if topic is not None:
                alarms_by_topic.setdefault(topic.urn, alarm)
    for topic_urn, alarm in alarms_by_topic.items():
        topic = stack.snapshot.resources[topic_urn]
        title = f"CloudWatch alarms → SNS topic {topic.name}"
        publishers.append((f"alarms->{topic.name}", title, topic, "cloudwatch.amazonaws.com", alarm))
    for target in stack.snapshot.of_type(EVENT_TARGET):
        topic, rule = _topic(stack, target.get("arn")), _named(stack, EVENT_RULE, "name", target.get("rule"))
        if topic is not None and rule is not None:  # else not a rule of the stack sending to its topic
            title = f"EventBridge rule {rule.name} → SNS topic {topic.name}"
            publishers.append((f"{rule.name}->{topic.name}", title, topic, "events.amazonaws.com", rule))
    for flow_id, title, topic, service, source in publishers:
        arn = stack.snapshot.output(source, "arn")
        yield _result(flow_id, "required", title, _publishes(stack, topic, service, arn))
    for subscription in stack.snapshot.of_type(EVENT_SUBSCRIPTION):
        topic = _topic(stack, subscription.get("snsTopic"))
        if topic is None:
            continue
        # RDS names the instance that raised the event as the source.
        sources = [
            _named(stack, RDS_INSTANCE, "identifier", source)
            for source in subscription.get("sourceIds") or []
        ]
        instances = [source for source in sources if source is not None]
        yield _result(
            f"{subscription.name}-events->{topic.name}",
            "required",
            f"RDS events of {', '.join(i.name for i in instances)} → SNS topic {topic.name}",
            combine(
                *(
                    _publishes(stack, topic, "events.rds.amazonaws.com", stack.snapshot.output(i, "arn"))
                    for i in instances
                )
            )
            if instances
            else _broken(f"{subscription.name}: no instance of the stack among its sources"),
        )
    yield from _elasticache_notifications(stack)


def _elasticache_notifications(stack: Stack) -> Iterator[FlowResult]:
    """ElastiCache publishes to an unencrypted topic whose policy names AWS:SourceOwner: it marks any other
    topic inactive and stops notifying it. https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html"""
    for group in stack.snapshot.of_type(REPLICATION_GROUP):
        topic = _topic(stack, group.get("notificationTopicArn"))
        if topic is None:
            continue
        title = f"ElastiCache notifications of {group.name} → SNS topic {topic.name}"
        if topic.get("kmsMasterKeyId"):
            hop = Hop("link", f"{topic.name} kmsMasterKeyId", topic.urn, "kmsMasterKeyId")
            finding = _broken(f"{topic.name} is encrypted: ElastiCache cannot publish to it", hop)
        else:
            finding = stack.identity.service_allowed(
                "elasticache.amazonaws.com",
                "sns:Publish",
                str(stack.snapshot.output(topic, "arn")),
                {"aws:SourceOwner": stack.snapshot.place.account},
            )
        yield _result(f"{group.name}-notifications->{topic.name}", "required", title, finding)


def log_delivery_flows(stack: Stack) -> Iterator[FlowResult]:
    """AWS services that write into the stack's log groups through CloudWatch Logs' delivery service (WAF, a
    replication group's logs, CloudFront's access logs): the group's resource policy must grant
    delivery.logs.amazonaws.com, and its key policy CloudWatch Logs.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html"""
    producers: list[tuple[Resource, str, Any]] = []
    for config in stack.snapshot.of_type(WAF_LOGGING):
        producers += [(config, "WAF", arn) for arn in config.get("logDestinationConfigs") or []]
    for group in stack.snapshot.of_type(REPLICATION_GROUP):
        producers += [
            (group, "ElastiCache", entry.get("destination"))
            for entry in group.get("logDeliveryConfigurations") or []
            if entry.get("destinationType") == "cloudwatch-logs"
        ]
    for destination in stack.snapshot.of_type(LOG_DELIVERY_DESTINATION):
        arn = destination.get("deliveryDestinationConfiguration.destinationResourceArn")
        if ":log-group:" in str(arn):
            producers.append((destination, "CloudFront", arn))
    for producer, service, target in producers:
        group = stack.log_group(target)
        flow_id = f"{producer.name}->{group.name if group else target}"
        title = f"{service} logs of {producer.name} → log group {group.get('name') if group else target}"
        if group is None:
            missing = _link(producer, "log destination", target, f"{producer.name}: {target} is no log group")
            yield _result(flow_id, "required", title, missing)
            continue
        arn = str(stack.snapshot.output(group, "arn"))
        place = stack.snapshot.place_of(group)
        # The delivery service calls with a CloudWatch Logs ARN of the group's region and account as its
        # source, all that AWS's documented policy conditions on (ArnLike arn:aws:logs:<region>:<acct>:*):
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html
        # The resource after `delivery-source:` is a stand-in: a policy naming one exact source could not be
        # judged by it.
        source = f"arn:{place.partition}:logs:{place.region}:{place.account}:delivery-source:{producer.name}"
        delivery = stack.identity.service_allowed(
            "delivery.logs.amazonaws.com",
            "logs:PutLogEvents",
            f"{arn}:log-stream:{producer.name}",
            {"aws:SourceAccount": place.account, "aws:SourceArn": source},
        )
        if delivery.verdict is Verdict.BROKEN:
            # AWS writes a policy itself when delivery is set up, but only if the deployer may
            # logs:PutResourcePolicy, and only while the region has fewer than 10: declared, it is certain.
            delivery = replace(delivery, reason=f"{delivery.reason} (declare a log resource policy for it)")
        yield _result(
            flow_id,
            "required",
            title,
            combine(
                delivery,
                _service_uses_key(
                    stack,
                    group.get("kmsKeyId"),
                    f"logs.{place.region}.amazonaws.com",
                    {"kms:EncryptionContext:aws:logs:arn": arn},
                ),
            ),
        )


def pod_identity_flows(stack: Stack) -> Iterator[FlowResult]:
    """Each Pod Identity association: the role trusts pods.eks.amazonaws.com for that service account, the
    agent on the nodes reaches the EKS Auth API, and the pods reach the agent at 169.254.170.23:80.
    https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html"""
    cluster = stack.first(EKS_CLUSTER)
    node_group = stack.first(NODE_GROUP)
    if cluster is None or node_group is None:
        return
    agent_api = stack.network.reach(
        Endpoint.resource(node_group.urn), Endpoint.aws_service("eks-auth"), HTTPS_PORT
    )
    for association in stack.identity.pod_identity_associations():
        role = stack.snapshot.referenced(association.role_arn)
        account = association.service_account
        flow_id = f"pod-identity-{association.resource.name}-{account}"
        title = f"{association.namespace or association.resource.name}/{account} → Pod Identity → its role"
        if role is None:
            missing = f"{association.resource.name}: {association.property} is no role of the stack"
            link = _link(association.resource, association.property, association.role_arn, missing)
            yield _result(flow_id, "required", title, link)
            continue
        findings = [agent_api]
        if association.namespace:
            assume = stack.identity.assumable(
                role.urn,
                pod_identity=(
                    str(cluster.get("name") or stack.snapshot.output(cluster, "name")),
                    association.namespace,
                    str(account),
                ),
                context={"aws:SourceAccount": stack.snapshot.place.account},
            )
            pods = Endpoint.pods(association.namespace, {})
            findings += [assume, stack.network.reach(pods, Endpoint.pod_identity_agent(), 80)]
        yield _result(flow_id, "required", title, combine(*findings))


def _service_uses_key(stack: Stack, key_ref: Any, service: str, context: Mapping[str, Any]) -> Finding:
    """A service principal may use a customer managed key: the key policy must say so (IAM cannot)."""
    if not key_ref:
        return Finding(Verdict.PROVEN, (Hop("key-policy", f"{service}: no customer managed key"),))
    key = stack.snapshot.referenced(key_ref)
    if key is None:
        return Finding(Verdict.UNRESOLVED, (), f"key {key_ref} is not traced to a key of this stack")
    arn = str(stack.snapshot.output(key, "arn"))
    request = {"aws:SourceAccount": stack.snapshot.place.account, **context}
    return combine(
        stack.identity.service_allowed(service, "kms:GenerateDataKey", arn, request),
        stack.identity.service_allowed(service, "kms:Decrypt", arn, request),
    )


def backup_flows(stack: Stack) -> Iterator[FlowResult]:
    """The backup role → the selected resources, the vaults its plan writes (copies included), their keys.

    The role is what AWS Backup acts as: it snapshots the resource, copies into each vault, and has KMS grant
    the service use of each vault's key. https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html
    """
    account = stack.snapshot.place.account
    for selection in stack.snapshot.of_type(BACKUP_SELECTION):
        flow_id = f"{selection.name}->vault"
        title = f"backup role → {selection.name}'s resources, vaults and vault keys"
        role = stack.snapshot.referenced(selection.get("iamRoleArn"))
        plan = stack.snapshot.referenced(selection.get("planId"))
        if role is None or plan is None:
            prop = "iamRoleArn" if role is None else "planId"
            missing = _link(
                selection, prop, selection.get(prop), f"{selection.name}: {prop} is not of the stack"
            )
            yield _result(flow_id, "required", title, missing)
            continue
        vaults = [_vault(stack, rule.get("targetVaultName")) for rule in plan.get("rules") or []]
        vaults += [
            stack.snapshot.referenced(copy.get("destinationVaultArn"))
            for rule in plan.get("rules") or []
            for copy in rule.get("copyActions") or []
        ]
        if not vaults or None in vaults:
            yield _result(
                flow_id,
                "required",
                title,
                _link(
                    plan,
                    "rules",
                    plan.get("rules"),
                    f"{plan.name}: a rule's vault is not a vault of the stack",
                ),
            )
            continue
        findings = [
            stack.identity.assumable(
                role.urn, service="backup.amazonaws.com", context={"aws:SourceAccount": account}
            )
        ]
        findings += [
            stack.identity.allowed(role.urn, "rds:CreateDBSnapshot", str(arn), {})
            for arn in selection.get("resources") or []
            if ":rds:" in str(arn)
        ]
        for vault in vaults:
            assert vault is not None
            findings.append(
                stack.identity.allowed(
                    role.urn, "backup:CopyIntoBackupVault", str(stack.snapshot.output(vault, "arn")), {}
                )
            )
            key_arn = vault.get("kmsKeyArn")
            if key_arn:
                findings.append(
                    stack.identity.allowed(
                        role.urn, "kms:CreateGrant", str(key_arn), {"kms:GrantIsForAWSResource": "true"}
                    )
                )
        yield _result(flow_id, "required", title, combine(*findings))


def _vault(stack: Stack, name: Any) -> Resource | None:
    """A plan names its vault by name, which paved sets, so it is known rather than traced."""
    by_name = stack.first(BACKUP_VAULT, lambda vault: vault.get("name") == name)
    return by_name or stack.snapshot.referenced(name)


# -- forbidden flows ----------------------------------------------------------------------------------------


def internet_flows(stack: Stack) -> Iterator[FlowResult]:
    """Nothing on the internet reaches the data stores, the nodes, or (prod) the EKS API."""
    targets: list[tuple[Resource, int]] = [
        (r, POSTGRES_PORT) for r in stack.snapshot.of_type(RDS_INSTANCE, RDS_PROXY)
    ]
    targets += [(r, VALKEY_PORT) for r in stack.snapshot.of_type(REPLICATION_GROUP)]
    targets += [(r, port) for r in stack.snapshot.of_type(NODE_GROUP) for port in (22, 10250, HTTPS_PORT)]
    if stack.config.get("paved:environment") == "prod":
        targets += [(r, HTTPS_PORT) for r in stack.snapshot.of_type(EKS_CLUSTER)]
    for resource, port in targets:
        yield _result(
            f"internet-x->{resource.name}:{port}",
            "forbidden",
            f"internet ↛ {resource.name} :{port}",
            _absent(
                stack.network.reach(Endpoint.internet(), Endpoint.resource(resource.urn), port),
                "internet access",
            ),
        )


def metadata_flows(stack: Stack) -> Iterator[FlowResult]:
    """No app pod reaches the instance metadata service (the node role's credentials)."""
    for app in stack.apps:
        yield _result(
            f"{app.name}-x->imds",
            "forbidden",
            f"{app.name} pods ↛ instance metadata 169.254.169.254",
            _absent(stack.network.reach(app.pods, Endpoint.imds(), 80), "metadata access"),
        )


def cross_app_secret_flows(stack: Stack) -> Iterator[FlowResult]:
    """App A's role reads none of app B's secrets."""
    readable = {app.name: {s.urn for _, s in stack.app_secrets(app) if s} for app in stack.apps}
    for app in stack.apps:
        sync = stack.sync_role(app)
        if isinstance(sync, Finding):
            continue
        role, _ = sync
        for other in stack.apps:
            for secret_urn in sorted(readable[other.name] - readable[app.name]):
                secret = stack.snapshot.resources[secret_urn]
                arn = str(stack.snapshot.output(secret, "arn"))
                finding = stack.identity.allowed(role.urn, "secretsmanager:GetSecretValue", arn, {})
                yield _result(
                    f"{app.name}-x->{secret.name}",
                    "forbidden",
                    f"{app.name}'s role ↛ {other.name}'s secret {secret.name}",
                    _absent(finding, f"{app.name}'s role reading {secret.name}"),
                )


def outside_account_flows(stack: Stack) -> Iterator[FlowResult]:
    """No principal outside the account may use a KMS key, read a secret or reach a bucket of the stack
    through its resource policy (a key's policy alone decides who may use it)."""
    guarded = [(KMS_KEY, "KMS key"), (SECRET, "secret"), (BUCKET, "bucket")]
    for type_, what in guarded:
        for resource in stack.snapshot.of_type(type_):
            yield _result(
                f"outside-x->{resource.name}" if type_ == KMS_KEY else f"outside-x->{what}-{resource.name}",
                "forbidden",
                f"principals outside the account ↛ {what} {resource.name}",
                stack.identity.outside_account_access(resource.urn),
            )


# -- the proof ----------------------------------------------------------------------------------------------


def required_flows(stack: Stack) -> Iterator[FlowResult]:
    cache_secrets = {
        name
        for name, spec in (stack.config.get("paved:secrets") or {}).items()
        if spec.get("source") == "cacheUrl"
    }
    for app in stack.apps:
        if app.public:
            yield edge_flow(stack, app)
        if app.uses_database:
            yield _result(
                f"{app.name}->database",
                "required",
                f"{app.name} pods → proxy :5432 → database :5432, and its login",
                combine(database_flow(stack, app), database_login(stack, app)),
            )
        if cache_secrets & set(app.config.get("secrets") or []):
            yield cache_flow(stack, app)
        if stack.app_secrets(app):
            yield secret_sync_flow(stack, app)
    yield from node_flows(stack)
    yield from deployer_flows(stack)
    yield from job_flows(stack)
    yield from producer_flows(stack)
    yield from log_delivery_flows(stack)
    yield from pod_identity_flows(stack)
    yield from backup_flows(stack)


def forbidden_flows(stack: Stack) -> Iterator[FlowResult]:
    yield from internet_flows(stack)
    yield from metadata_flows(stack)
    yield from cross_app_secret_flows(stack)
    yield from outside_account_flows(stack)


def prove(snapshot: Snapshot) -> list[FlowResult]:
    """Every required, forbidden and order flow of the stack, with its verdict."""
    stack = Stack(snapshot)
    return [*required_flows(stack), *forbidden_flows(stack), *order_findings(snapshot)]


def as_json(results: list[FlowResult]) -> list[dict[str, Any]]:
    return [
        {
            "id": result.id,
            "kind": result.kind,
            "title": result.title,
            "verdict": result.verdict.value,
            "evidence": [
                {"kind": hop.kind, "text": hop.text, "urn": hop.urn, "property": hop.property}
                for hop in result.evidence
            ],
            "reason": result.reason,
        }
        for result in results
    ]
