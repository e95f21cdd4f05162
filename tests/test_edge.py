"""The load balancer, its certificate and its regional WAF, as recorded for the real stacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.edge import SSL_POLICY, public_apps
from paved.config import load_stack_file
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from paved.values import is_secret
from tests.alerts import COMPOSITE, notifying_alarms
from tests.stack_config import (
    Mutation,
    apps,
    assert_rule_reports_path_and_hint,
    case,
    paths_of,
    section,
    shipped,
    with_app,
)

ROOT = Path(__file__).resolve().parent.parent
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def without_cloudfront() -> Recording:
    """Staging without CloudFront, its api app served to the ALB over HTTPS, /api/auth/ rate-limited and one
    CORS origin (one recording for all)."""
    staging_apps = load_stack_file(ROOT / "stacks" / "Pulumi.staging.yaml", "staging").apps
    apps = [
        {
            "name": app.name,
            "image": app.image,
            "port": app.port,
            "websocket": app.websocket,
            **({"publicPath": app.public_path} if app.public_path else {}),
            **({"host": app.host} if app.host else {}),
            **({"backendProtocol": "HTTPS"} if app.name == "api" else {}),
        }
        for app in staging_apps
    ]
    return run_project(
        ROOT,
        "staging",
        {
            "paved:edge": {
                "cloudfront": False,
                "ingressCidrs": ["203.0.113.0/24"],
                "pathRateLimits": [{"path": "/api/auth/", "limit": 20}],
                "corsAllowedOrigins": ["https://admin.staging.example.com"],
            },
            "paved:apps": apps,
        },
    )


def test_alb_attributes(prod: Recording) -> None:
    alb = prod.one(ALB, "alb")
    inputs = alb.inputs
    assert (inputs["internal"], inputs["loadBalancerType"]) == (False, "application")
    assert inputs["dropInvalidHeaderFields"] is True
    assert inputs["desyncMitigationMode"] == "strictest"
    assert inputs["enableHttp2"] is True
    assert inputs["idleTimeout"] == 300  # prod stack override, long enough for websockets
    assert inputs["enableDeletionProtection"] is True and alb.protect
    assert inputs["accessLogs"]["enabled"] is True
    public = {r.urn for r in prod.of_type("aws:ec2/subnet:Subnet") if "-public-" in r.name}
    assert set(alb.property_dependencies["subnets"]) == public
    # Access logs can only be switched on once the bucket policy lets ELB deliver.
    policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "alb-logs")
    assert policy.urn in alb.dependencies


def test_access_log_bucket_is_sse_s3(prod: Recording) -> None:
    # ALB access logs support SSE-S3 only:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    encryption = prod.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "alb-logs"
    )
    rule = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "AES256" and "kmsMasterKeyId" not in rule


def test_https_only_with_a_tls13_policy_and_a_fixed_403_default(prod: Recording) -> None:
    [listener] = prod.of_type(LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (443, "HTTPS")
    assert listener.inputs["sslPolicy"] == SSL_POLICY and "TLS13" in SSL_POLICY
    [default] = listener.inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "403"
    certificate = prod.one("aws:acm/certificateValidation:CertificateValidation", "certificate")
    assert listener.property_dependencies["certificateArn"] == [certificate.urn]


def test_behind_cloudfront_only_the_origin_facing_list_may_connect(prod: Recording) -> None:
    rules = [r for r in prod.of_type(INGRESS) if r.name.startswith("alb-sg-")]
    assert [r.inputs["fromPort"] for r in rules] == [443]
    [rule] = rules
    assert rule.inputs["prefixListId"].startswith("pl-")
    assert not {"cidrIpv4", "cidrIpv6"} & set(rule.inputs)
    # One rule referencing the list weighs 55 of the 60 rules a security group may have by default.
    assert len(rules) * 55 <= 60


def test_every_route_requires_the_secret_origin_header(prod: Recording) -> None:
    # The api's metricsPath rule answers 404 itself, whoever asks: only forwarding rules need the header.
    routes = [r for r in prod.of_type(RULE) if r.inputs["actions"][0]["type"] == "forward"]
    assert {r.name for r in routes} == {"alb-web", "alb-api"}
    for route in routes:
        [header] = [c["httpHeader"] for c in route.inputs["conditions"] if "httpHeader" in c]
        assert header["httpHeaderName"] == "X-Origin-Verify"
        assert all(is_secret(value) for value in header["values"])


def test_more_specific_paths_win(prod: Recording) -> None:
    priorities = {r.name: r.inputs["priority"] for r in prod.of_type(RULE)}
    # /api/* must be tried before the web app's host catch-all /*.
    assert priorities["alb-api"] < priorities["alb-web"]
    apps = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml", "prod").apps
    assert [app.name for app in public_apps(apps)] == ["api", "web"]


def _target_group(recording: Recording, app: str) -> RecordedResource:
    return recording.one(TARGET_GROUP, f"alb-{app}")


def test_target_groups_use_ip_targets_readiness_checks_and_graceful_deregistration(prod: Recording) -> None:
    assert {r.name for r in prod.of_type(TARGET_GROUP)} == {"alb-web", "alb-api"}  # the worker gets none
    for app in ("web", "api"):
        inputs = _target_group(prod, app).inputs
        assert inputs["targetType"] == "ip" and inputs["port"] == 3000
        assert inputs["deregistrationDelay"] == 30
        check = inputs["healthCheck"]
        assert check["path"] == "/health/ready" and check["matcher"] == "200-299"
        assert check["healthyThreshold"] == 2 and check["unhealthyThreshold"] == 3
    assert _target_group(prod, "api").inputs["stickiness"]["type"] == "lb_cookie"  # websocket app
    assert "stickiness" not in _target_group(prod, "web").inputs


def _probe_schemes(recording: Recording, app: str) -> set[str]:
    deployment = recording.one("kubernetes:apps/v1:Deployment", app)
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {container[f"{probe}Probe"]["httpGet"]["scheme"] for probe in ("startup", "readiness", "liveness")}


def test_alb_to_pod_traffic_is_http_by_default(prod: Recording) -> None:
    # README, Edge tier, explains why the in-VPC hop defaults to HTTP and how to turn HTTPS on.
    for app in ("web", "api"):
        inputs = _target_group(prod, app).inputs
        assert inputs["protocol"] == "HTTP" and inputs["healthCheck"]["protocol"] == "HTTP"
        assert _probe_schemes(prod, app) == {"HTTP"}


def test_backend_protocol_https_reaches_the_target_group_and_the_probes(
    without_cloudfront: Recording,
) -> None:
    api = _target_group(without_cloudfront, "api").inputs
    assert api["protocol"] == "HTTPS" and api["healthCheck"]["protocol"] == "HTTPS"
    assert _probe_schemes(without_cloudfront, "api") == {"HTTPS"}
    # Only the app that asked for it changes.
    assert _target_group(without_cloudfront, "web").inputs["protocol"] == "HTTP"
    assert _probe_schemes(without_cloudfront, "web") == {"HTTP"}


def test_regional_waf_is_associated_through_the_alb_resource(prod: Recording) -> None:
    association = prod.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.property_dependencies["resourceArn"] == [prod.one(ALB, "alb").urn]
    acl = prod.one("aws:wafv2/webAcl:WebAcl", "alb-waf")
    assert acl.inputs["scope"] == "REGIONAL"
    names = {rule["name"] for rule in acl.inputs["rules"]}
    # Behind CloudFront the per-IP rules move to the CloudFront ACL.
    assert not any("rate" in name.lower() for name in names)


def test_alb_alarms_notify(prod: Recording) -> None:
    alarms = {r.name: r.inputs for r in notifying_alarms(prod) if r.name.startswith("alb-")}
    expected = {
        "alb-target-5xx-rate",
        "alb-elb-5xx",
        "alb-rejected-connections",
        "alb-p95-latency",
        "alb-web-unhealthy",
        "alb-api-unhealthy",
    }
    assert expected <= set(alarms)
    assert alarms["alb-p95-latency"]["extendedStatistic"] == "p95"
    assert alarms["alb-p95-latency"]["threshold"] == 2
    rate = alarms["alb-target-5xx-rate"]
    assert [q["id"] for q in rate["metricQueries"]][-1] == "rate" and rate["threshold"] == 5
    assert all(inputs["alarmActions"] for inputs in alarms.values())


def test_without_cloudfront_http_redirects_and_cidrs_are_admitted(without_cloudfront: Recording) -> None:
    listeners = {r.inputs["port"]: r.inputs for r in without_cloudfront.of_type(LISTENER)}
    [redirect] = listeners[80]["defaultActions"]
    assert redirect["type"] == "redirect"
    assert (redirect["redirect"]["protocol"], redirect["redirect"]["statusCode"]) == ("HTTPS", "HTTP_301")
    rules = [r for r in without_cloudfront.of_type(INGRESS) if r.name.startswith("alb-sg-cidr-")]
    assert {(r.inputs["cidrIpv4"], r.inputs["fromPort"]) for r in rules} == {
        ("203.0.113.0/24", 443),
        ("203.0.113.0/24", 80),
    }
    for route in without_cloudfront.of_type(RULE):
        assert not any("httpHeader" in c for c in route.inputs["conditions"])
    acl = without_cloudfront.one("aws:wafv2/webAcl:WebAcl", "alb-waf")
    rules = {rule["name"]: rule for rule in acl.inputs["rules"]}
    assert "rate-limit-per-ip" in rules
    # Without CloudFront the ALB's ACL sees viewers' addresses, so it takes the rate-limited paths too.
    path_limit = rules["rate-limit-path-api-auth"]["statement"]["rateBasedStatement"]
    assert path_limit["limit"] == 20
    assert path_limit["scopeDownStatement"]["byteMatchStatement"]["searchString"] == "/api/auth/"


def test_without_cloudfront_the_https_listener_adds_the_security_and_cors_headers(
    without_cloudfront: Recording,
) -> None:
    listeners = {r.inputs["port"]: r.inputs for r in without_cloudfront.of_type(LISTENER)}
    headers = {
        key.removeprefix("routingHttpResponse").removesuffix("HeaderValue"): value
        for key, value in listeners[443].items()
        if key.startswith("routingHttpResponse")
    }
    staging_csp = load_stack_file(
        ROOT / "stacks" / "Pulumi.staging.yaml", "staging"
    ).edge.content_security_policy
    assert headers == {
        "StrictTransportSecurity": "max-age=31536000; includeSubDomains; preload",
        "ContentSecurityPolicy": staging_csp,
        "XContentTypeOptions": "nosniff",
        "XFrameOptions": "DENY",
        "AccessControlAllowOrigin": "https://admin.staging.example.com",
        "AccessControlAllowMethods": "GET,HEAD,OPTIONS,POST,PATCH,DELETE",
        "AccessControlAllowHeaders": "Authorization,Content-Type",
        "AccessControlMaxAge": "600",
    }
    # Port 80 only redirects; its responses carry no page.
    assert not [key for key in listeners[80] if key.startswith("routingHttpResponse")]


def test_behind_cloudfront_the_listener_leaves_the_headers_to_cloudfront(prod: Recording) -> None:
    [listener] = prod.of_type(LISTENER)
    assert not [key for key in listener.inputs if key.startswith("routingHttpResponse")]


def test_cors_origins_the_alb_cannot_send_go_to_the_public_apps() -> None:
    from paved.config import load_stack_config

    edge = {
        "cloudfront": False,
        "corsAllowAppHosts": True,
        "corsAllowedOrigins": ["https://admin.example.com"],
    }
    config = load_stack_config(section("paved:edge", edge)(shipped("staging")), "staging")
    origins = ["https://app.staging.example.com", "https://admin.example.com"]
    assert config.edge.cors_allowed_origins == origins
    env = {app.name: app.env.get("CORS_ALLOWED_ORIGINS") for app in config.apps}
    assert env == {"web": ",".join(origins), "api": ",".join(origins), "worker": None}
    # With CloudFront, its response headers policy answers every origin; the apps get nothing.
    behind = load_stack_config(
        section("paved:edge", {**edge, "cloudfront": True})(shipped("staging")), "staging"
    )
    assert behind.edge.cors_allowed_origins == origins
    assert not [app for app in behind.apps if "CORS_ALLOWED_ORIGINS" in app.env]


def test_a_websocket_heartbeat_need_only_beat_the_albs_timeout_without_cloudfront() -> None:
    from paved.config import load_stack_config

    edge = {"cloudfront": False, "idleTimeoutSeconds": 1000, "ingressCidrs": ["203.0.113.0/24"]}
    raw = with_app(section("paved:edge", edge)(shipped("staging")), 1, {"websocketHeartbeatSeconds": 700})
    assert load_stack_config(raw, "staging").apps[1].websocket_heartbeat_seconds == 700
    behind_cloudfront = section("paved:edge", {"cloudfront": True})(raw)
    assert paths_of(behind_cloudfront, "staging") == ["paved:apps[1].websocketHeartbeatSeconds"]


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case(
        "prod",
        section("paved:edge", {"geoBlockCountries": ["UK"]}),
        "paved:edge.geoBlockCountries[0]",
        "waf-uk",
    ),
    case(
        "prod",
        section("paved:edge", {"geoBlockCountries": ["KP", "XX"]}),
        "paved:edge.geoBlockCountries[1]",
        "waf-xx",
    ),
    case(
        "prod", section("paved:edge", {"idleTimeoutSeconds": 4001}), "paved:edge.idleTimeoutSeconds", "idle"
    ),
    case("prod", section("paved:edge", {"rateLimitPerIp": 9}), "paved:edge.rateLimitPerIp", "waf-min-limit"),
    case(
        "prod",
        section("paved:edge", {"rateLimitWindowSeconds": 30}),
        "paved:edge.rateLimitWindowSeconds",
        "waf-window",
    ),
    case("prod", section("paved:edge", {"ingressCidrs": []}), "paved:edge.ingressCidrs", "ingress-non-empty"),
    case(
        "prod",
        apps(1, {"websocketHeartbeatSeconds": 300}),
        "paved:apps[1].websocketHeartbeatSeconds",
        "websocket-heartbeat-alb-idle",
    ),
    case(
        "prod",
        lambda raw: with_app(
            section("paved:edge", {"idleTimeoutSeconds": 4000})(raw), 1, {"websocketHeartbeatSeconds": 600}
        ),
        "paved:apps[1].websocketHeartbeatSeconds",
        "websocket-heartbeat-cloudfront-idle",
    ),
    case(
        "prod",
        section("paved:edge", {"pathRateLimits": [{"path": f"/p{i}/", "limit": 10} for i in range(10)]}),
        "paved:edge.pathRateLimits",
        "waf-rate-rules-per-acl",
    ),
    case(
        "prod",
        section("paved:edge", {"pathRateLimits": [{"path": "/api/*/login", "limit": 10}]}),
        "paved:edge.pathRateLimits[0].path",
        "path-limit-wildcard",
    ),
    case(
        "prod",
        section("paved:edge", {"pathRateLimits": [{"path": "/*", "limit": 10}]}),
        "paved:edge.pathRateLimits[0].path",
        "path-limit-every-path",
    ),
    case(
        "prod",
        section("paved:edge", {"pathRateLimits": [{"path": "/api/", "limit": 9}]}),
        "paved:edge.pathRateLimits[0].limit",
        "path-limit-min",
    ),
    case(
        "prod",
        section("paved:edge", {"pathRateLimits": [{"path": "/api/", "limit": 10, "windowSeconds": 30}]}),
        "paved:edge.pathRateLimits[0].windowSeconds",
        "path-limit-window",
    ),
    case(
        "prod",
        section(
            "paved:edge",
            {"pathRateLimits": [{"path": "/api/auth/", "limit": 10}, {"path": "/api-auth", "limit": 20}]},
        ),
        "paved:edge.pathRateLimits[1].path",
        "path-limit-same-rule",
    ),
    case(
        "prod", section("paved:edge", {"ingressCidrs": ["office"]}), "paved:edge.ingressCidrs[0]", "ingress"
    ),
    case(
        "prod",
        section("paved:edge", {"blockedRequestsAlarm": {"threshold": 0}}),
        "paved:edge.blockedRequestsAlarm",
        "waf-alarm-threshold",
    ),
    case(
        "prod",
        section("paved:edge", {"blockedRequestsAlarm": {"periods": 97, "periodSeconds": 900}}),
        "paved:edge.blockedRequestsAlarm",
        "waf-alarm-window",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


def test_each_public_app_is_alerted_on_its_error_and_latency_budgets_burning(prod: Recording) -> None:
    composites = {r.name: r for r in prod.of_type(COMPOSITE)}
    windows = {r.inputs["name"]: r for r in prod.of_type(ALARM)}
    groups = {g.name: g for g in prod.of_type(TARGET_GROUP)}
    public = [app["name"] for app in shipped("prod")["paved:apps"] if app.get("publicPath")]
    assert public and {name for name in composites} == {
        f"alb-{app}-{budget}-budget-{speed}"
        for app in public
        for budget in ("error", "latency")
        for speed in ("fast", "slow")
    }
    # 30 days at 99.9% (seed 001): 14.4x the 0.1% budget over 1 h and 5 min, 6x over 6 h and 30 min.
    burns = {"fast": (1.44, 28, (3600, 300)), "slow": (0.6, 70, (21600, 1800))}
    for app in public:
        for speed, (error_rate, within, periods) in burns.items():
            errors = composites[f"alb-{app}-error-budget-{speed}"]
            assert errors.inputs["alarmActions"] and errors.inputs["actionsEnabled"] is True
            names = re.findall(r'ALARM\("([^"]+)"\)', errors.inputs["alarmRule"])
            assert " AND " in errors.inputs["alarmRule"] and len(names) == 2
            for name, period in zip(names, periods, strict=True):
                window = windows[name].inputs
                queries = {q["id"]: q for q in window["metricQueries"]}
                assert (
                    queries["errors"]["metric"]["period"] == period == queries["requests"]["metric"]["period"]
                )
                # The app's own target group (its ARN suffix, known once it exists).
                assert groups[f"alb-{app}"].urn in windows[name].property_dependencies["metricQueries"]
                assert window["threshold"] == pytest.approx(error_rate)
            latency = composites[f"alb-{app}-latency-budget-{speed}"]
            for name, period in zip(
                re.findall(r'ALARM\("([^"]+)"\)', latency.inputs["alarmRule"]), periods, strict=True
            ):
                window = windows[name].inputs
                # The percentage of requests answered within 500 ms, against 100% less the slow budget burnt.
                assert (window["extendedStatistic"], window["period"]) == ("PR(:0.5)", period)
                assert (window["comparisonOperator"], window["threshold"]) == ("LessThanThreshold", within)
                assert window["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("availability", [90, 99.999])
def test_an_objective_no_burn_rate_alert_can_serve_is_refused(availability: float) -> None:
    raw = with_app(shipped("prod"), 0, {"slo": {"availabilityPercent": availability}})
    assert "paved:apps[0].slo.availabilityPercent" in paths_of(raw, "prod")


def test_an_apps_metrics_path_is_never_answered_through_the_alb(prod: Recording) -> None:
    # The shipped prod stack's api serves /api/metrics.
    [name] = [
        app["name"] for app in shipped("prod")["paved:apps"] if app.get("metricsPath") == "/api/metrics"
    ]
    recording = prod
    block = recording.one(RULE, f"alb-{name}-metrics").inputs
    route = recording.one(RULE, f"alb-{name}").inputs
    # Ahead of the app's own route, and here (the most specific app) of every other rule too.
    others = [
        rule.inputs["priority"] for rule in recording.of_type(RULE) if rule.name != f"alb-{name}-metrics"
    ]
    assert block["priority"] < route["priority"] and block["priority"] < min(others)
    paths = [c["pathPattern"]["values"] for c in block["conditions"] if "pathPattern" in c]
    assert paths == [["/api/metrics", "/api/metrics/*"]]
    assert block["actions"] == [
        {
            "type": "fixed-response",
            "fixedResponse": {"contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"},
        }
    ]


@pytest.mark.parametrize("metrics_path", ["/", "/*", "/metrics*"])
def test_a_metrics_path_that_would_hide_more_is_refused(metrics_path: str) -> None:
    raw = with_app(shipped("prod"), 0, {"metricsPath": metrics_path})
    assert "paved:apps[0].metricsPath" in paths_of(raw, "prod")
