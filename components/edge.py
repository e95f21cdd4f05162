"""The internet-facing Application Load Balancer: TLS 1.2+ only, strict HTTP parsing, access logs, WAF-ready,
one target group per public app, and alarms on errors, latency and health.

With CloudFront in front, the ALB admits only CloudFront's origin-facing addresses on 443, and forwards only
requests that carry CloudFront's secret origin header; everything else gets a fixed 403. The header value is
generated, kept in Secrets Manager (`<stack>/alb/origin-secret`) and rotated by raising
`paved:edge.originSecretVersion` (CloudFront and the ALB rules change in the same update; requests in
flight during that minute may see a 403).
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import AfterValidator, Field

from components.buckets import SecureBucket, ServerAccessLogs, alb_log_delivery_statement
from components.dashboard import Metric, Widget
from components.kms import aws_context
from components.naming import autonamed
from components.observability import AlarmRule, AlarmSpec, Alerting, Threshold, threshold_within
from components.secrets import SecretPlacement
from components.security_groups import port_rule
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import (
    Cidr,
    ConfigModel,
    LogRetention,
    RuleContext,
    UrlPath,
    Version,
    WafCountryCode,
    distinct,
)

if TYPE_CHECKING:
    from components.workload import AppArgs

HTTPS = 443
HTTP = 80
ORIGIN_HEADER = "X-Origin-Verify"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# Without CloudFront, the browser-facing env var that carries the CORS origins the ALB cannot: ELB adds one
# static Access-Control-Allow-Origin value per listener, so for several origins the app must echo the
# request's Origin when it is listed.
CORS_ORIGINS_ENV = "CORS_ALLOWED_ORIGINS"
# TLS 1.3 and 1.2 with forward-secret AEAD ciphers only; the provider's default is the 2016 policy.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"


# WAF rate-based rules count requests over one of these evaluation windows:
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
RateLimitWindowSeconds = Literal[60, 120, 300, 600]
# A rate-based rule's limit is at least 10 requests per window (botocore's wafv2 RateLimit: 10 to
# 2,000,000,000; "Rate-based rule statement":
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html).
RateLimit = Annotated[
    int,
    Field(ge=10, le=2_000_000_000),
    Hint("AWS WAF rate limits are 10 to 2,000,000,000 requests per window; 600 per 60 s is 10 req/s"),
]
# Fixed WAF quotas, which AWS does not raise: 10 rate-based rules per web ACL
# (https://docs.aws.amazon.com/waf/latest/developerguide/limits.html). A string match may take 200
# characters; a rate-limited path takes half, so its rule name (`rate-limit-path-` and the path) stays within
# the 128 characters of botocore's wafv2 EntityName.
MAX_RATE_BASED_RULES_PER_ACL = 10
_MAX_RATE_LIMITED_PATH_LENGTH = 100


def _path_prefix(value: str) -> str:
    """`/api/auth/*` or `/api/auth/`: the prefix WAF compares the request path with (STARTS_WITH)."""
    prefix = value.removesuffix("*")
    if "*" in prefix:
        raise invalid(
            f"{value!r} has a wildcard before its end",
            "name a path prefix, e.g. /api/auth/ or /api/auth/* (a trailing * only)",
        )
    if prefix == "/":
        raise invalid(
            f"{value!r} is every path", "rateLimitPerIp already limits every path; name a narrower prefix"
        )
    if len(prefix) > _MAX_RATE_LIMITED_PATH_LENGTH:
        raise invalid(
            f"the prefix is {len(prefix)} characters",
            f"shorten it to {_MAX_RATE_LIMITED_PATH_LENGTH} or fewer",
        )
    return prefix


class PathRateLimit(ConfigModel):
    """A tighter per-IP limit on the requests whose path starts with `path`."""

    path: Annotated[UrlPath, AfterValidator(_path_prefix)]
    limit: RateLimit
    window_seconds: RateLimitWindowSeconds = 60

    @property
    def rule_name(self) -> str:
        """The WAF rule's name and metric name (botocore wafv2 EntityName: `^[\\w\\-]+$`)."""
        return "rate-limit-path-" + re.sub(r"[^A-Za-z0-9_-]+", "-", self.path).strip("-")


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


HttpsOrigin = Annotated[str, AfterValidator(_https_origin)]
# The methods that carry an upload's body; WAF compares the method exactly as the viewer sent it.
UploadMethod = Literal["POST", "PUT", "PATCH"]


class EdgeAlarms(ConfigModel):
    """The load balancer's and the CDN's alarms; each unit is in its key's name."""

    target_error_rate: AlarmRule  # % of requests the apps answer 5XX
    load_balancer_errors: AlarmRule  # 5XX the load balancer answers itself, per period
    p95_latency_ms: AlarmRule  # the apps' p95 response time
    cdn_server_error_rate: AlarmRule  # % of CloudFront responses that are 5XX
    cdn_client_error_rate: AlarmRule  # % of CloudFront responses that are 4XX


class EdgeArgs(ConfigModel):
    cloudfront: bool
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
    idle_timeout_seconds: Annotated[
        int, Field(ge=1, le=4000), Hint("the ALB idle timeout is 1 to 4000 seconds")
    ]
    rate_limit_per_ip: RateLimit
    rate_limit_window_seconds: RateLimitWindowSeconds
    # Rate-based rules scoped down to a path prefix, next to the per-IP rule on the ACL that sees viewers'
    # addresses (components/waf.py); that rule is one of the ACL's 10.
    path_rate_limits: Annotated[
        list[PathRateLimit],
        Field(max_length=MAX_RATE_BASED_RULES_PER_ACL - 1),
        Hint(
            f"at most {MAX_RATE_BASED_RULES_PER_ACL - 1} paths: a web ACL takes "
            f"{MAX_RATE_BASED_RULES_PER_ACL} rate-based rules and rateLimitPerIp is one; use common prefixes"
        ),
    ]
    # Viewers allowed in: the ALB's security group without CloudFront, a WAF IP-set rule on the
    # CloudFront web ACL with it (the ALB then admits CloudFront only).
    ingress_cidrs: Annotated[
        list[Cidr],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("list the source CIDRs allowed in; 0.0.0.0/0 allows everyone"),
    ]
    geo_block_countries: Annotated[
        list[WafCountryCode],
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
    # Only requests of these methods to an upload path are exempt: a GET or DELETE there gets the body
    # limits of every other path. Each method costs 2 WCU (components/waf.py).
    upload_methods: Annotated[
        list[UploadMethod],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("the methods that send uploads to uploadPaths: POST, PUT and/or PATCH (tus uses PATCH)"),
    ]
    asset_paths: Annotated[
        list[UrlPath],
        AfterValidator(distinct),
        Hint("path patterns CloudFront serves from the assets bucket, e.g. /_next/static/*"),
    ]
    content_security_policy: Annotated[str, AfterValidator(_content_security_policy)]
    cors_allowed_origins: Annotated[list[HttpsOrigin], AfterValidator(distinct)]
    # Adds https://<host> for each host the stack answers (cdn.viewer_hosts) to corsAllowedOrigins; the
    # loader folds them in (paved/config.py), so components read corsAllowedOrigins only.
    cors_allow_app_hosts: bool
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
        AlarmRule, threshold_within(1, None, "alarm when a web ACL blocks more requests than this per period")
    ]
    alarms: EdgeAlarms

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        first_of: dict[str, int] = {}
        for index, limit in enumerate(self.path_rate_limits):
            other = first_of.setdefault(limit.rule_name, index)
            if other != index:
                yield ConfigProblem(
                    f"{path}.pathRateLimits[{index}].path",
                    f"{limit.path} names the same WAF rule ({limit.rule_name}) as pathRateLimits[{other}]",
                    "list each prefix once; prefixes that differ only in punctuation share a rule name",
                )

    @property
    def admits_everyone(self) -> bool:
        """Whether the edge lets any address in (else `ingressCidrs` is an allow-list)."""
        return list(self.ingress_cidrs) == ["0.0.0.0/0"]


# What both edges send, CloudFront's response headers policy (components/cdn.py) and, without CloudFront, the
# ALB's listener: HSTS for a year with subdomains and preload, and CORS for these request headers, whose
# preflight answers browsers may keep for 10 minutes.
HSTS_MAX_AGE_SECONDS = 31_536_000
CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type")
CORS_MAX_AGE_SECONDS = 600

# The valid values pulumi-aws 7.51.1 documents for the listener's Access-Control-Allow-Methods (lb.Listener:
# GET, HEAD, POST, DELETE, CONNECT, OPTIONS, TRACE or PATCH): CloudFront's methods but PUT, which it omits.
_ALB_CORS_METHODS = "GET,HEAD,OPTIONS,POST,PATCH,DELETE"


def _response_headers(args: EdgeArgs) -> dict[str, Any]:
    """The listener attributes that add CloudFront's response headers at the ALB, for a stack without
    CloudFront: ELB's header modification adds HSTS, CSP, X-Frame-Options, X-Content-Type-Options and the
    CORS headers to every response of the listener (botocore elbv2 ListenerAttribute keys
    routing.http.response.*.header_value;
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html).
    CORS goes here only for exactly one origin; the loader hands more to the apps (CORS_ORIGINS_ENV)."""
    headers: dict[str, Any] = {
        "routing_http_response_strict_transport_security_header_value": (
            f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains; preload"
        ),
        "routing_http_response_content_security_policy_header_value": args.content_security_policy,
        "routing_http_response_x_content_type_options_header_value": "nosniff",
        "routing_http_response_x_frame_options_header_value": "DENY",
    }
    if len(args.cors_allowed_origins) == 1:
        headers |= {
            "routing_http_response_access_control_allow_origin_header_value": args.cors_allowed_origins[0],
            "routing_http_response_access_control_allow_methods_header_value": _ALB_CORS_METHODS,
            "routing_http_response_access_control_allow_headers_header_value": ",".join(CORS_ALLOWED_HEADERS),
            "routing_http_response_access_control_max_age_header_value": str(CORS_MAX_AGE_SECONDS),
        }
    return headers


def public_apps(apps: Sequence["AppArgs"]) -> list["AppArgs"]:
    """Apps the ALB routes to, most specific first: a longer path, then a host, wins a tie.

    ALB evaluates listener rules by priority, so `/api/*` must come before a host's catch-all `/*`.
    """
    routed = [app for app in apps if app.is_public]
    return sorted(routed, key=lambda app: (-len(app.public_path or ""), app.host is None))


class LoadBalancer(pulumi.ComponentResource):
    alb_arn: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    target_group_arns: dict[str, pulumi.Output[str]]
    origin_secret: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        apps: Sequence["AppArgs"],
        *,
        vpc_id: pulumi.Input[str],
        subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        workload_security_group_id: pulumi.Input[str],
        certificate_arn: pulumi.Input[str],
        secrets: SecretPlacement,
        alerting: Alerting,
        access_logs: ServerAccessLogs,
        protect: bool,
        tags: Mapping[str, str],
        probe_sources: Sequence[pulumi.Input[str]] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:edge:LoadBalancer", name, None, opts)
        self._name = name
        self._args = args
        self._tags = dict(tags)
        here = pulumi.ResourceOptions(parent=self)
        routed = public_apps(apps)
        context = aws_context(here)

        log_bucket = SecureBucket(
            f"{name}-logs",
            purpose="ALB access logs",
            kms_key_arn=None,  # ALB log delivery supports SSE-S3 only
            expire_days=args.access_log_retention_days,
            extra_statements=lambda bucket_arn: [
                alb_log_delivery_statement(bucket_arn, context.account, context.partition)
            ],
            access_logs=access_logs,
            protect=protect,
            tags=self._tags,
            opts=here,
        )
        group = self._security_group(vpc_id, workload_security_group_id, routed, probe_sources)
        alb = aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            internal=False,
            security_groups=[group.id],
            subnets=subnet_ids,
            # Reject requests with malformed headers and ambiguous framing (request smuggling):
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_http2=True,
            idle_timeout=args.idle_timeout_seconds,
            enable_deletion_protection=protect,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=log_bucket.bucket_name, enabled=True),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=[log_bucket.policy]),
        )
        self.origin_secret = self._origin_secret(secrets)
        listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=HTTPS,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[_forbidden()],
            # Behind CloudFront its response headers policy adds these (components/cdn.py).
            **({} if args.cloudfront else _response_headers(args)),
            tags=self._tags,
            opts=here,
        )
        if not args.cloudfront:
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=HTTP,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port=str(HTTPS), status_code="HTTP_301"
                        ),
                    )
                ],
                tags=self._tags,
                opts=here,
            )
        target_groups = {app.name: self._target_group(app, vpc_id) for app in routed}
        for priority, app in enumerate(routed, start=1):
            if app.metrics_path:
                self._hide_metrics(app, app.metrics_path, priority * 10 - 5, listener)
            self._route(app, priority * 10, listener, target_groups[app.name])
        self._alarms(alerting, alb, target_groups)
        self._slo_alerts(alerting, alb, target_groups, routed)
        self.target_group_arns = {app: group.arn for app, group in target_groups.items()}
        self.widgets = _widgets(alb, target_groups, context.region)

        self.alb_arn = alb.arn
        self.alb_dns_name = alb.dns_name
        self.alb_zone_id = alb.zone_id
        self.security_group_id = group.id
        self.log_bucket_name = log_bucket.bucket_name
        self.register_outputs(
            {
                "alb_arn": self.alb_arn,
                "alb_dns_name": self.alb_dns_name,
                "security_group_id": self.security_group_id,
                "target_group_arns": self.target_group_arns,
            }
        )

    def _security_group(
        self,
        vpc_id: pulumi.Input[str],
        workload_group_id: pulumi.Input[str],
        routed: Sequence["AppArgs"],
        probe_sources: Sequence[pulumi.Input[str]],
    ) -> aws.ec2.SecurityGroup:
        group_name = f"{self._name}-sg"
        group = aws.ec2.SecurityGroup(
            group_name,
            vpc_id=vpc_id,
            description="ALB: HTTPS from CloudFront (or the allowed CIDRs); app ports to the workloads",
            tags={**self._tags, "Name": group_name},
            opts=pulumi.ResourceOptions(parent=self),
        )
        if self._args.cloudfront:
            # One rule referencing the managed list: it weighs 55 of the default 60 rules per group.
            # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html
            prefix_list = aws.ec2.get_managed_prefix_list_output(
                name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            self._ingress(group, "cloudfront", HTTPS, prefix_list_id=prefix_list.id)
        else:
            for index, cidr in enumerate(self._args.ingress_cidrs):
                for port in (HTTPS, HTTP):
                    self._ingress(group, f"cidr-{index}-{port}", port, cidr=cidr)
            # The stack's own uptime canaries, leaving through its NAT gateways (components/uptime.py).
            for index, source in enumerate(probe_sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{self._name}-sg-probe-{index}",
                    security_group_id=group.id,
                    description=f"TCP {HTTPS} from the uptime canaries, through NAT gateway {index + 1}",
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_ipv4=source,
                    tags=self._tags,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        for port in sorted({app.routing.port for app in routed}):
            port_rule(
                group,
                f"{group_name}-to-workloads-{port}",
                direction="to",
                port=port,
                peer_id=workload_group_id,
                tags=self._tags,
                parent=self,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-workloads-from-alb-{port}",
                security_group_id=workload_group_id,
                description=f"TCP {port} from the ALB",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=group.id,
                tags=self._tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return group

    def _ingress(
        self,
        group: aws.ec2.SecurityGroup,
        suffix: str,
        port: int,
        *,
        cidr: str | None = None,
        prefix_list_id: pulumi.Input[str] | None = None,
    ) -> None:
        ipv6 = cidr is not None and ":" in cidr
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-sg-{suffix}",
            security_group_id=group.id,
            description=f"TCP {port} from {cidr or 'CloudFront origin-facing addresses'}",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr if cidr and not ipv6 else None,
            cidr_ipv6=cidr if ipv6 else None,
            prefix_list_id=prefix_list_id,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _origin_secret(self, secrets: SecretPlacement) -> pulumi.Output[str]:
        here = pulumi.ResourceOptions(parent=self)
        version = self._args.origin_secret_version
        value = random.RandomPassword(
            f"{self._name}-origin-secret",
            length=48,
            special=False,
            keepers={"version": str(version)},
            opts=here,
        )
        secret = secrets.secret(
            f"{self._name}-origin-secret",
            path=f"{self._name}/origin-secret",
            description=f"Value of the {ORIGIN_HEADER} header CloudFront sends to the ALB",
            rotation="raise paved:edge.originSecretVersion",
            parent=self,
        )
        aws.secretsmanager.SecretVersion(
            f"{self._name}-origin-secret",
            secret_id=secret.id,
            secret_string_wo=value.result,
            secret_string_wo_version=version,
            opts=here,
        )
        return pulumi.Output.secret(value.result)

    def _target_group(self, app: "AppArgs", vpc_id: pulumi.Input[str]) -> aws.lb.TargetGroup:
        # HTTPS to the pods needs only that the app serve TLS on its port: the ALB does not validate target
        # certificates, so a self-signed one does.
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-routing-configuration
        return aws.lb.TargetGroup(
            # Target group names are at most 32 characters:
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
            autonamed(f"{self._name}-{app.name}", 32),
            port=app.routing.port,
            protocol=app.backend_protocol,
            target_type="ip",  # pods are registered directly (TargetGroupBinding, issue #5)
            vpc_id=vpc_id,
            # Time for in-flight requests after a pod is deregistered; the pod's preStop hook and
            # terminationGracePeriodSeconds must cover it.
            deregistration_delay=self._args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol=app.backend_protocol,
                path=app.routing.health_paths.readiness,
                port="traffic-port",
                matcher="200-299",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            # WebSocket connections stay on their target anyway; the cookie keeps Socket.IO's HTTP
            # long-polling handshake, which spans several requests, on one pod.
            stickiness=aws.lb.TargetGroupStickinessArgs(
                type="lb_cookie", cookie_duration=86_400, enabled=True
            )
            if app.websocket
            else None,
            tags={**self._tags, "app": app.name},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _route(
        self, app: "AppArgs", priority: int, listener: aws.lb.Listener, target_group: aws.lb.TargetGroup
    ) -> None:
        conditions = []
        if app.host:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[app.host])
                )
            )
        if app.public_path:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[app.public_path])
                )
            )
        if self._args.cloudfront:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=ORIGIN_HEADER, values=[self.origin_secret]
                    )
                )
            )
        aws.lb.ListenerRule(
            f"{self._name}-{app.name}",
            listener_arn=listener.arn,
            priority=priority,
            conditions=conditions,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _hide_metrics(self, app: "AppArgs", path: str, priority: int, listener: aws.lb.Listener) -> None:
        """A 404 for the app's metrics path (and below it) on the app's host, ahead of every route: metrics
        describe the app's inside and are for the scraper in the cluster, never for the internet."""
        conditions = [
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                    values=[path, f"{path.rstrip('/')}/*"]
                )
            )
        ]
        if app.host:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[app.host])
                )
            )
        aws.lb.ListenerRule(
            f"{self._name}-{app.name}-metrics",
            listener_arn=listener.arn,
            priority=priority,
            conditions=conditions,
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="text/plain", message_body="Not Found", status_code="404"
                    ),
                )
            ],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _slo_alerts(
        self,
        alerting: Alerting,
        alb: aws.lb.LoadBalancer,
        target_groups: Mapping[str, aws.lb.TargetGroup],
        apps: Sequence["AppArgs"],
    ) -> None:
        """Per public app, its error budget and its latency budget, each alerted on a fast and a slow burn,
        from the ALB's metrics of the app's target group."""
        for app in apps:
            slo, group = app.routing.slo, target_groups[app.name]
            dimensions = {"LoadBalancer": alb.arn_suffix, "TargetGroup": group.arn_suffix}
            # Rounded: 100 - 99.9 is 0.0999999999999943 in binary floating point.
            errors_budget = round(100 - slo.availability_percent, 6)
            slow_budget = 100 - slo.latency_percentile
            seconds = slo.latency_ms / 1000
            for speed, (burn, *windows) in _BURNS.items():
                alerting.burn_rate_alert(
                    f"{self._name}-{app.name}-error-budget-{speed}",
                    description=f"{app.name}: burning its error budget ({errors_budget:g}% of requests, "
                    f"for {slo.availability_percent:g}% availability) {burn:g}× too fast",
                    windows={
                        label: _error_rate(
                            dimensions,
                            period,
                            1,
                            f"5XX over {label} above {burn * errors_budget:g}%",
                            round(burn * errors_budget, 6),
                        )
                        for period, label in windows
                    },
                    parent=self,
                    runbook=f"{self._name}-error-budget",
                )
                alerting.burn_rate_alert(
                    f"{self._name}-{app.name}-latency-budget-{speed}",
                    description=f"{app.name}: more than {burn * slow_budget:g}% of requests slower than "
                    f"{slo.latency_ms} ms (objective: p{slo.latency_percentile} under {slo.latency_ms} ms), "
                    f"{burn:g}× the budget",
                    windows={
                        label: AlarmSpec(
                            description=f"Share of requests within {slo.latency_ms} ms over {label} below "
                            f"{100 - burn * slow_budget:g}%",
                            namespace="AWS/ApplicationELB",
                            metric_name="TargetResponseTime",
                            dimensions=dimensions,
                            # Percentile rank: the percentage of requests answered within the objective.
                            extended_statistic=f"PR(:{seconds:g})",
                            period=period,
                            comparison_operator="LessThanThreshold",
                            threshold=100 - burn * slow_budget,
                            evaluation_periods=1,
                            datapoints_to_alarm=1,
                            treat_missing_data="notBreaching",  # no requests: nothing was slow
                        )
                        for period, label in windows
                    },
                    parent=self,
                    runbook=f"{self._name}-latency-budget",
                )

    def _alarms(
        self, alerting: Alerting, alb: aws.lb.LoadBalancer, target_groups: Mapping[str, aws.lb.TargetGroup]
    ) -> None:
        if not target_groups:
            return
        dimensions = {"LoadBalancer": alb.arn_suffix}
        limits = self._args.alarms
        rate = limits.target_error_rate
        alerting.alarm(
            f"{self._name}-target-5xx-rate",
            _error_rate(
                dimensions,
                rate.period_seconds,
                rate.periods,
                f"More than {rate.threshold:g}% of requests answered 5XX by the apps {rate.window_text}",
                rate.threshold,
            ),
            parent=self,
        )
        errors = limits.load_balancer_errors
        alerting.threshold_alarms(
            self._name,
            [
                errors.threshold_for(
                    suffix="elb-5xx",
                    description=f"The load balancer itself answered 5XX more than {errors.threshold:g} times "
                    f"{errors.window_text}",
                    metric_name="HTTPCode_ELB_5XX_Count",
                    statistic="Sum",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                ),
                Threshold(
                    suffix="rejected-connections",
                    description="The load balancer rejected connections (it hit its connection limit)",
                    metric_name="RejectedConnectionCount",
                    statistic="Sum",
                    comparison_operator="GreaterThanThreshold",
                    threshold=0,
                    periods=1,
                    treat_missing_data="notBreaching",
                ),
            ],
            namespace="AWS/ApplicationELB",
            dimensions=dimensions,
            parent=self,
        )
        latency = limits.p95_latency_ms
        alerting.alarm(
            f"{self._name}-p95-latency",
            AlarmSpec(
                description=f"p95 target response time above {latency.threshold:g} ms {latency.window_text}",
                namespace="AWS/ApplicationELB",
                metric_name="TargetResponseTime",
                dimensions=dimensions,
                extended_statistic="p95",
                period=latency.period_seconds,
                comparison_operator="GreaterThanThreshold",
                threshold=latency.threshold / 1000,  # the metric is in seconds
                evaluation_periods=latency.periods,
                datapoints_to_alarm=latency.periods,
                treat_missing_data="notBreaching",
            ),
            parent=self,
        )
        for app, target_group in target_groups.items():
            alerting.alarm(
                f"{self._name}-{app}-unhealthy",
                AlarmSpec(
                    description=f"{app}: a target failed its readiness check for 10 minutes",
                    namespace="AWS/ApplicationELB",
                    metric_name="UnHealthyHostCount",
                    dimensions={**dimensions, "TargetGroup": target_group.arn_suffix},
                    statistic="Maximum",
                    period=300,
                    comparison_operator="GreaterThanThreshold",
                    threshold=0,
                    evaluation_periods=2,
                    datapoints_to_alarm=2,
                    treat_missing_data="missing",
                ),
                parent=self,
                runbook=f"{self._name}-target-unhealthy",
            )


# Multiwindow burn rates over a 30-day objective (https://sre.google/workbook/alerting-on-slos/, table 5-8):
# 2% of the budget in an hour pages, 5% in six hours too; each with a short window that shows it still burns.
_BURNS = {"fast": (14.4, (3600, "1h"), (300, "5m")), "slow": (6, (21600, "6h"), (1800, "30m"))}


def _widgets(
    alb: aws.lb.LoadBalancer, target_groups: Mapping[str, aws.lb.TargetGroup], region: pulumi.Input[str]
) -> list[Widget]:
    """Requests and errors, latency, and each app's requests and healthy targets."""
    balancer = {"LoadBalancer": alb.arn_suffix}

    def elb(
        name: str, stat: str, label: str, dimensions: Mapping[str, pulumi.Input[str]] = balancer
    ) -> Metric:
        return Metric("AWS/ApplicationELB", name, dimensions, stat, label)

    per_app = {app: {**balancer, "TargetGroup": group.arn_suffix} for app, group in target_groups.items()}
    return [
        Widget(
            "ALB: requests and errors",
            region,
            [
                elb("RequestCount", "Sum", "requests"),
                elb("HTTPCode_Target_4XX_Count", "Sum", "apps 4XX"),
                elb("HTTPCode_Target_5XX_Count", "Sum", "apps 5XX"),
                elb("HTTPCode_ELB_5XX_Count", "Sum", "ALB 5XX"),
            ],
        ),
        Widget(
            "ALB: response time (s)",
            region,
            [elb("TargetResponseTime", stat, stat) for stat in ("p50", "p95", "p99")],
        ),
        Widget(
            "Requests per app",
            region,
            [elb("RequestCount", "Sum", app, dimensions) for app, dimensions in per_app.items()],
        ),
        Widget(
            "Healthy targets per app",
            region,
            [elb("HealthyHostCount", "Minimum", app, dimensions) for app, dimensions in per_app.items()],
        ),
    ]


def _error_rate(
    dimensions: Mapping[str, pulumi.Input[str]], period: int, periods: int, description: str, threshold: float
) -> AlarmSpec:
    """The percentage of requests the apps (of a target group, with its dimension) answer 5XX, above
    `threshold` in each of `periods` periods."""

    def total(query_id: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/ApplicationELB",
                metric_name=metric_name,
                dimensions=dimensions,
                period=period,
                stat="Sum",
            ),
        )

    return AlarmSpec(
        description=description,
        metric_queries=[
            total("errors", "HTTPCode_Target_5XX_Count"),
            total("requests", "RequestCount"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="rate", expression="100 * FILL(errors, 0) / requests", label="5XX %", return_data=True
            ),
        ],
        comparison_operator="GreaterThanThreshold",
        threshold=threshold,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        treat_missing_data="notBreaching",  # no requests: nothing failed
    )


def _forbidden() -> aws.lb.ListenerDefaultActionArgs:
    return aws.lb.ListenerDefaultActionArgs(
        type="fixed-response",
        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
            content_type="text/plain", message_body="Forbidden", status_code="403"
        ),
    )
