"""`paved readiness` (paved/readiness): the checklists' items as shipped, each family's rule on a stack where
it holds and on one where it doesn't, the report's formats, and docs/readiness-prod.md kept current.

A stack where a rule doesn't hold is the shipped prod stack's evidence with the resources (or the inputs) the
rule rests on taken away: the rule must notice, and name what is missing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import paved.preview
from paved.cli import app
from paved.config import load_stack_config
from paved.preview import PreviewResult
from paved.readiness import checklists
from paved.readiness.evidence import Stack, Status
from paved.readiness.report import as_json, assess, evidence_of, html, markdown
from paved.readiness.rules import FAMILIES
from paved.recorder import RecordedResource
from tests.stack_config import ROOT, shipped

CHECKLISTS = ROOT.parent / "shared" / "reference" / "checklists"
REPORT = ROOT / "docs" / "readiness-prod.md"


@pytest.fixture(scope="module")
def prod_stack(prod_preview: PreviewResult) -> Stack:
    return evidence_of(prod_preview, load_stack_config(shipped("prod"), "prod"), ROOT)


Change = Callable[[RecordedResource], dict[str, Any] | None]


def edited(stack: Stack, resource_type: str, change: Change) -> Stack:
    """The stack with each resource of a type given the inputs `change` returns, or dropped for None."""
    resources = []
    for resource in stack.resources:
        if resource.type != resource_type:
            resources.append(resource)
        elif (inputs := change(resource)) is not None:
            resources.append(dataclasses.replace(resource, inputs=inputs))
    return dataclasses.replace(stack, resources=tuple(resources))


def dropped(resource_type: str) -> Callable[[Stack], Stack]:
    return lambda stack: edited(stack, resource_type, lambda _: None)


def setting(resource_type: str, **values: Any) -> Callable[[Stack], Stack]:
    return lambda stack: edited(stack, resource_type, lambda resource: {**resource.inputs, **values})


def _in_pods(update: Callable[[dict[str, Any]], None]) -> Callable[[Stack], Stack]:
    def change(resource: RecordedResource) -> dict[str, Any]:
        inputs = json.loads(json.dumps(resource.inputs))
        update(inputs["spec"]["template"])
        return inputs

    return lambda stack: edited(stack, "kubernetes:apps/v1:Deployment", change)


def _without_flows(kind: str) -> Callable[[Stack], Stack]:
    return lambda stack: dataclasses.replace(stack, flows=tuple(f for f in stack.flows if f.kind != kind))


def _cache_policy(policy: str) -> Callable[[Stack], Stack]:
    return setting(
        "aws:elasticache/parameterGroup:ParameterGroup",
        parameters=[{"name": "maxmemory-policy", "value": policy}],
    )


def _with_uploads_bucket(stack: Stack) -> Stack:
    """The stack with `paved:uploads` on, as far as its resources tell: a bucket named `uploads`."""
    bucket = stack.of("aws:s3/bucket:Bucket")[0]
    uploads = dataclasses.replace(bucket, name="uploads", urn=f"{bucket.urn}-uploads")
    return dataclasses.replace(stack, resources=(*stack.resources, uploads))


def _with_nats(stack: Stack) -> Stack:
    """The stack with `paved:nats` on, as far as its resources tell: the chart's release, TLS on."""
    release = RecordedResource(
        urn="urn:pulumi:prod::paved::kubernetes:helm.sh/v3:Release::nats",
        type="kubernetes:helm.sh/v3:Release",
        name="nats",
        custom=True,
        parent="",
        inputs={"chart": "nats", "values": {"config": {"nats": {"tls": {"enabled": True}}}}},
    )
    return dataclasses.replace(stack, resources=(*stack.resources, release))


def _compress_everywhere(stack: Stack) -> Stack:
    def change(resource: RecordedResource) -> dict[str, Any]:
        inputs = json.loads(json.dumps(resource.inputs))
        inputs["defaultCacheBehavior"]["compress"] = True
        return inputs

    return edited(stack, "aws:cloudfront/distribution:Distribution", change)


def _rate_limit_scoped_to_a_path(stack: Stack) -> Stack:
    def change(resource: RecordedResource) -> dict[str, Any]:
        inputs = json.loads(json.dumps(resource.inputs))
        for rule in inputs.get("rules") or []:
            if "rateBasedStatement" in rule["statement"]:
                rule["statement"]["rateBasedStatement"]["scopeDownStatement"] = {"byteMatchStatement": {}}
        return inputs

    return edited(stack, "aws:wafv2/webAcl:WebAcl", change)


def _with_trail(stack: Stack) -> Stack:
    trail = RecordedResource(
        urn="urn:pulumi:prod::paved::aws:cloudtrail/trail:Trail::trail",
        type="aws:cloudtrail/trail:Trail",
        name="trail",
        custom=True,
        parent="",
        inputs={"isMultiRegionTrail": True},
    )
    return dataclasses.replace(stack, resources=(*stack.resources, trail))


def _tracing(template: dict[str, Any]) -> None:
    annotations = template["metadata"].setdefault("annotations", {})
    annotations["instrumentation.opentelemetry.io/inject-nodejs"] = "true"


def _cors_for(origins: list[str]) -> Callable[[Stack], Stack]:
    return setting(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        corsConfig={"accessControlAllowOrigins": {"items": origins}},
    )


# family: (how to make it hold on prod, None where it holds already; how to break it on prod; a word of what
# the broken stack's finding says is missing)
CASES: dict[str, tuple[Callable[[Stack], Stack] | None, Callable[[Stack], Stack], str]] = {
    "tls": (
        None,
        setting("aws:elasticache/replicationGroup:ReplicationGroup", transitEncryptionEnabled=False),
        "plaintext",
    ),
    "secrets": (None, dropped("kubernetes:external-secrets.io/v1:ExternalSecret"), "secrets"),
    "environments": (
        None,
        lambda stack: dataclasses.replace(stack, project_dir=ROOT / "docs"),
        "one environment",
    ),
    "database": (None, setting("aws:rds/instance:Instance", publiclyAccessible=True), "publicly"),
    "connection-pooling": (None, dropped("aws:rds/proxy:Proxy"), "RDS Proxy"),
    "read-replicas": (None, setting("aws:rds/instance:Instance", replicateSourceDb=None), "replica"),
    "backups": (None, setting("aws:rds/instance:Instance", backupRetentionPeriod=1), "7 days"),
    "restore-testing": (None, dropped("aws:backup/restoreTestingPlan:RestoreTestingPlan"), "restore testing"),
    "disaster-recovery": (
        None,
        lambda stack: dropped(
            "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
        )(edited(stack, "aws:backup/plan:Plan", lambda plan: {**plan.inputs, "rules": []})),
        "region",
    ),
    "migrations": (None, _without_flows("order"), "migration"),
    "cache": (None, _without_flows("required"), "reach the cache"),
    "queues": (_cache_policy("noeviction"), _cache_policy("allkeys-lru"), "evicts"),
    "cdn": (None, dropped("aws:cloudfront/distribution:Distribution"), "CDN"),
    "health-checks": (None, _in_pods(lambda t: t["spec"]["containers"][0].pop("livenessProbe")), "probes"),
    "load-balancing": (None, dropped("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"), "behind"),
    "autoscaling": (
        None,
        dropped("kubernetes:autoscaling/v2:HorizontalPodAutoscaler"),
        "HorizontalPodAutoscaler",
    ),
    "high-availability": (None, setting("aws:rds/instance:Instance", multiAz=False), "single-AZ"),
    "graceful-shutdown": (
        None,
        _in_pods(lambda t: t["spec"]["containers"][0].pop("lifecycle", None)),
        "killed",
    ),
    "resource-limits": (None, _in_pods(lambda t: t["spec"]["containers"][0].pop("resources")), "limits"),
    "container-security": (
        None,
        _in_pods(lambda t: t["spec"]["containers"][0]["securityContext"].update(runAsNonRoot=False)),
        "root",
    ),
    "network-security": (None, dropped("kubernetes:networking.k8s.io/v1:NetworkPolicy"), "NetworkPolicy"),
    "rate-limiting": (_rate_limit_scoped_to_a_path, dropped("aws:wafv2/webAcl:WebAcl"), "rate-based"),
    "waf": (None, dropped("aws:wafv2/webAcl:WebAcl"), "managed rules"),
    "cors": (_cors_for(["https://app.example.com"]), _cors_for(["*"]), "any origin"),
    "security-headers": (None, dropped("aws:cloudfront/distribution:Distribution"), "CloudFront"),
    "logging": (None, setting("aws:cloudwatch/logGroup:LogGroup", retentionInDays=None), "retention"),
    "audit": (_with_trail, lambda stack: stack, "CloudTrail"),
    "metrics": (None, dropped("aws:eks/addon:Addon"), "container metrics"),
    "database-insights": (
        None,
        setting("aws:rds/instance:Instance", performanceInsightsEnabled=False),
        "Insights",
    ),
    "dashboards": (None, dropped("aws:cloudwatch/dashboard:Dashboard"), "dashboard"),
    "alerting": (
        None,
        setting("aws:cloudwatch/metricAlarm:MetricAlarm", alarmDescription="no link"),
        "runbook",
    ),
    "slo": (None, dropped("aws:cloudwatch/compositeAlarm:CompositeAlarm"), "SLO"),
    "uptime": (None, dropped("aws:synthetics/canary:Canary"), "canary"),
    "tracing": (_in_pods(_tracing), lambda stack: stack, "traced"),
    "ci-cd": (None, dropped("aws:ecr/repository:Repository"), "registry"),
    "vulnerability-scanning": (None, dropped("aws:ecr/repository:Repository"), "ECR"),
    "zero-downtime": (
        None,
        lambda stack: edited(
            stack,
            "kubernetes:apps/v1:Deployment",
            lambda d: {**d.inputs, "spec": {**d.inputs["spec"], "strategy": {"type": "Recreate"}}},
        ),
        "serving pods",
    ),
    "rollback": (None, dropped("aws:ecr/lifecyclePolicy:LifecyclePolicy"), "expire"),
    "runbooks": (None, lambda stack: dataclasses.replace(stack, runbooks=frozenset()), "runbook"),
    "architecture-diagram": (None, _without_flows("required"), "flow"),
    "service-discovery": (None, dropped("kubernetes:core/v1:Service"), "Service"),
    "orchestration": (None, dropped("aws:eks/cluster:Cluster"), "cluster"),
    "websockets": (None, setting("aws:lb/loadBalancer:LoadBalancer", idleTimeout=60), "idle timeout"),
    "file-storage": (_with_uploads_bucket, lambda stack: stack, "no uploads bucket"),
    "messaging": (_with_nats, lambda stack: stack, "no NATS"),
    "compression": (_compress_everywhere, dropped("aws:cloudfront/distribution:Distribution"), "compressed"),
    "data-retention": (
        None,
        dropped("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"),
        "lifecycle",
    ),
}
# Families paved does not build yet, or that infrastructure can't answer: no stack makes them hold.
NEVER_DONE = {"blue-green": Status.MISSING}
NOT_INFRASTRUCTURE = ("application", "process", "context")


def test_every_family_is_judged_by_a_case() -> None:
    assert set(FAMILIES) == set(CASES) | set(NEVER_DONE) | set(NOT_INFRASTRUCTURE)


@pytest.mark.parametrize("family", sorted(CASES))
def test_a_family_holds_on_its_stack_and_not_without_its_evidence(family: str, prod_stack: Stack) -> None:
    make_hold, break_it, missing_word = CASES[family]
    holding = make_hold(prod_stack) if make_hold else prod_stack
    assert FAMILIES[family](holding).status is Status.DONE, FAMILIES[family](holding)
    broken = FAMILIES[family](break_it(prod_stack))
    assert broken.status in (Status.PARTIAL, Status.MISSING), broken
    assert any(missing_word in text for text in broken.missing), broken.missing
    assert not broken.evidence or broken.status is Status.PARTIAL


@pytest.mark.parametrize("family", sorted(NEVER_DONE))
def test_what_paved_does_not_build_is_missing(family: str, prod_stack: Stack) -> None:
    finding = FAMILIES[family](prod_stack)
    assert finding.status is NEVER_DONE[family] and finding.missing and not finding.evidence


@pytest.mark.parametrize("family", NOT_INFRASTRUCTURE)
def test_what_infrastructure_cannot_answer_is_not_applicable(family: str, prod_stack: Stack) -> None:
    assert FAMILIES[family](prod_stack).status is Status.NOT_APPLICABLE


def test_websockets_are_not_applicable_without_a_websocket_app(prod_stack: Stack) -> None:
    quiet = dataclasses.replace(
        prod_stack,
        config=dataclasses.replace(
            prod_stack.config,
            apps=tuple(app.model_copy(update={"websocket": False}) for app in prod_stack.config.apps),
        ),
    )
    assert FAMILIES["websockets"](quiet).status is Status.NOT_APPLICABLE


def test_the_evidence_names_resources_and_policies(prod_stack: Stack) -> None:
    finding = FAMILIES["tls"](prod_stack)
    assert "the ALB serves HTTPS only (lb/listener alb-https)" in finding.evidence
    assert "policy rds-force-ssl" in finding.evidence
    # A policy the stack violates is not evidence.
    violated = dataclasses.replace(prod_stack, violated=frozenset({"rds-force-ssl"}))
    assert "policy rds-force-ssl" not in FAMILIES["tls"](violated).evidence


@pytest.mark.skipif(
    not CHECKLISTS.is_dir(), reason="needs ../shared/reference/checklists beside the checkout"
)
def test_the_shipped_items_are_the_checklists_items_each_with_a_family() -> None:
    shipped_items = checklists.load()
    assert [item.key + (item.line,) for item in checklists.refresh(CHECKLISTS)] == [
        item.key + (item.line,) for item in shipped_items
    ]
    assert {item.family for item in shipped_items} <= set(FAMILIES)
    assert {item.checklist for item in shipped_items} == {"000", "001", "002", "003", "004"}


def test_extraction_keeps_nesting_sections_and_lines(tmp_path: Path) -> None:
    checklist = tmp_path / "009_x.txt"
    checklist.write_text(
        "# Title\n\n## Security\n- [x] **CORS** - tight\n  - nested `item`\n\n```\n- not an item\n```\n"
        "### Deep\n1. numbered\n",
        encoding="utf-8",
    )
    found = checklists.extract(checklist)
    assert [(item.line, item.section, item.text) for item in found] == [
        (4, "Title › Security", "CORS - tight"),
        (5, "Title › Security", "nested item"),
        (11, "Title › Security › Deep", "numbered"),
    ]
    assert found[0].checklist == "009"


def test_an_unknown_family_is_refused(prod_stack: Stack) -> None:
    item = checklists.Item("000_x.txt", 1, "S", "text", "no-such-family")
    with pytest.raises(ValueError, match="no-such-family"):
        assess(prod_stack, [item])


def test_the_report_counts_per_checklist_and_renders_json_and_html(prod_stack: Stack) -> None:
    assessment = assess(prod_stack, checklists.load())
    document = json.loads(as_json(assessment))
    assert (
        sum(sum(counts.values()) for counts in document["summary"].values()) == len(document["items"]) == 537
    )
    assert document["families"]["tls"]["status"] == "DONE"
    assert {item["status"] for item in document["items"]} <= {"DONE", "PARTIAL", "MISSING", "N/A"}
    page = html(assessment)
    assert page.startswith("<!doctype html>") and "<table>" in page and "<h2>Checklist 004</h2>" in page


def test_the_committed_prod_report_is_current(prod_stack: Stack) -> None:
    expected = "\n".join(markdown(assess(prod_stack, checklists.load()))) + "\n"
    assert REPORT.read_text(encoding="utf-8") == expected, (
        "docs/readiness-prod.md is stale: run `paved readiness --stack prod > docs/readiness-prod.md`"
    )


def test_the_command_reports_from_the_preview(
    prod_preview: PreviewResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The preview itself is paved preview's (tests/test_preview.py); here it is the session's.
    monkeypatch.setattr(paved.preview, "run_preview", lambda *args, **kwargs: prod_preview)
    reported = CliRunner().invoke(app, ["readiness", "--stack", "prod", "--format", "json", "-C", str(ROOT)])
    assert reported.exit_code == 0, reported.output
    assert json.loads(reported.output)["stack"] == "prod"


def test_without_cloudfront_the_alb_listeners_headers_are_the_evidence(prod_stack: Stack) -> None:
    # What components/edge.py gives the HTTPS listener without CloudFront, with one CORS origin.
    listener_headers = setting(
        "aws:lb/listener:Listener",
        routingHttpResponseStrictTransportSecurityHeaderValue="max-age=31536000; includeSubDomains; preload",
        routingHttpResponseContentSecurityPolicyHeaderValue="default-src 'self'",
        routingHttpResponseXFrameOptionsHeaderValue="DENY",
        routingHttpResponseXContentTypeOptionsHeaderValue="nosniff",
        routingHttpResponseAccessControlAllowOriginHeaderValue="https://app.example.com",
    )
    without_cdn = dropped("aws:cloudfront/distribution:Distribution")(prod_stack)
    for family in ("security-headers", "cors"):
        assert FAMILIES[family](listener_headers(without_cdn)).status is Status.DONE
        missing = FAMILIES[family](without_cdn)
        assert missing.status is Status.MISSING and any("the ALB" in text for text in missing.missing)
