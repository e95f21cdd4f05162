"""Failed CronJob runs (issue #20): kube-state-metrics, its scrape job, the EMF declaration and the alarm per
cronjob app, in prod with the `reports` cronjob of tests/test_workload_kinds.py.

The release's objects come from the pinned chart, vendored whole at its tag
(tests/fixtures/charts/kube-state-metrics-8.4.0) and rendered by Helm's own Go SDK (helm-python-sdk) with
exactly the values paved records, then held to strict Kubernetes schemas, the restricted profile, the one
collector and the two series paved reads, and the port and labels the scrape job names.
"""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.cluster import (
    APP_METRICS_NAMESPACE,
    KSM_LAST_SCHEDULE,
    KSM_LAST_SUCCESS,
    KSM_NAMESPACE,
    KSM_PORT,
)
from components.controllers import KUBE_STATE_METRICS
from paved.program import run_project
from paved.recorder import Recording
from tests.manifests import manifest
from tests.stack_config import REPORTS, ROOT, Raw, assert_rule_reports_path_and_hint, shipped, with_apps
from tests.test_cluster import ADDON_SCHEMA, AGENT_SCHEMA
from tests.test_nats import _restricted_problems

RELEASE = "kubernetes:helm.sh/v3:Release"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ADDON = "aws:eks/addon:Addon"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CHART_DIR = ROOT / "tests" / "fixtures" / "charts" / f"{KUBE_STATE_METRICS.name}-{KUBE_STATE_METRICS.version}"


@pytest.fixture(scope="module")
def recording(prod_with_kinds: Recording) -> Recording:
    return prod_with_kinds


@pytest.fixture(scope="module")
def rendered(recording: Recording) -> list[dict[str, Any]]:
    values = manifest(recording.one(RELEASE, KUBE_STATE_METRICS.name).inputs["values"])
    with helm_python.Chart.load(CHART_DIR) as chart:
        assert chart.version == KUBE_STATE_METRICS.version
        files = chart.render(
            values, name=KUBE_STATE_METRICS.name, namespace=KUBE_STATE_METRICS.namespace, is_install=True
        )
    return [
        document
        for path, text in files.items()
        if path.endswith(".yaml")  # not NOTES.txt
        for document in yaml.safe_load_all(text)
        if document
    ]


def _one(rendered: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [d for d in rendered if d["kind"] == kind]
    return found


def _addon_values(recording: Recording) -> dict[str, Any]:
    [addon] = [
        a for a in recording.of_type(ADDON) if a.inputs["addonName"] == "amazon-cloudwatch-observability"
    ]
    return json.loads(addon.inputs["configurationValues"])


# --- shipped stacks: nothing new ---


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_a_stack_without_a_cronjob_has_no_kube_state_metrics(stack: str, shipped_recordings: Any) -> None:
    shipped_recording: Recording = shipped_recordings(stack)
    assert not [r for r in shipped_recording.of_type(RELEASE) if r.name == KUBE_STATE_METRICS.name]
    assert not [r for r in shipped_recording.of_type(ALARM) if r.name.endswith("-failed-runs")]
    [_, scraper] = _addon_values(shipped_recording)["agents"]
    assert KSM_NAMESPACE not in {job["job_name"] for job in scraper["prometheus"]["config"]["scrape_configs"]}


# --- the release ---


def test_the_release_is_the_pinned_chart_in_its_own_namespace(recording: Recording) -> None:
    release = recording.one(RELEASE, KUBE_STATE_METRICS.name).inputs
    assert (release["chart"], release["version"]) == (KUBE_STATE_METRICS.name, KUBE_STATE_METRICS.version)
    assert release["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert (release["namespace"], release["createNamespace"]) == (KSM_NAMESPACE, True)
    assert (release["atomic"], release["skipAwait"]) == (True, False)
    values = release["values"]
    assert values["collectors"] == ["cronjobs"]
    assert values["metricAllowlist"] == [KSM_LAST_SCHEDULE, KSM_LAST_SUCCESS]
    assert values["serviceAccount"] == {"create": True, "name": "kube-state-metrics"}
    # Its namespace has no NetworkPolicy: it reaches the API, and the scraper (amazon-cloudwatch) reaches it.
    assert not [
        p for p in recording.of_type(NETWORK_POLICY) if p.inputs["metadata"].get("namespace") == KSM_NAMESPACE
    ]


def test_the_chart_renders_strictly_valid_objects(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    for document in rendered:
        kubernetes_validate.validate(document, "1.36.0", strict=True)


def test_it_lists_and_watches_cronjobs_and_nothing_else(rendered: list[dict[str, Any]]) -> None:
    assert _one(rendered, "ClusterRole")["rules"] == [
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["list", "watch"]}
    ]
    binding = _one(rendered, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": KSM_NAMESPACE}
    ]


def test_the_pod_is_restricted_and_serves_the_two_series_on_the_scraped_port(
    rendered: list[dict[str, Any]],
) -> None:
    deployment = _one(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert _restricted_problems(pod) == []
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"] == {"memory": "64Mi"}
    assert "--resources=cronjobs" in container["args"]
    assert f"--metric-allowlist={KSM_LAST_SCHEDULE},{KSM_LAST_SUCCESS}" in container["args"]
    assert f"--port={KSM_PORT}" in container["args"]
    # The scrape job keeps this port only, not the chart's own telemetry port (8081).
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["http"] == KSM_PORT
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == KSM_NAMESPACE
    assert "prometheus.io/scrape" not in (_one(rendered, "Service")["metadata"].get("annotations") or {})


# --- the scraper ---


def test_the_scraper_reads_kube_state_metrics_and_publishes_the_cronjobs_series(recording: Recording) -> None:
    values = _addon_values(recording)
    [_, scraper] = values["agents"]
    jobs = {job["job_name"]: job for job in scraper["prometheus"]["config"]["scrape_configs"]}
    assert set(jobs) == {"api", KSM_NAMESPACE}
    job = jobs[KSM_NAMESPACE]
    assert (job["metrics_path"], job["scheme"]) == ("/metrics", "http")
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [KSM_NAMESPACE]}}]
    keeps = {r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert keeps == {
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": KSM_NAMESPACE,
        "__meta_kubernetes_pod_container_port_number": str(KSM_PORT),
    }
    # Its series keep their own `namespace` (the CronJob's); the scrape adds no label of that name.
    assert not [r for r in job["relabel_configs"] if r.get("target_label", "").lower() == "namespace"]
    prometheus = scraper["config"]["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["emf_processor"]["metric_namespace"] == APP_METRICS_NAMESPACE
    apps_declaration, cronjobs = prometheus["emf_processor"]["metric_declaration"]
    assert not re.fullmatch(apps_declaration["label_matcher"], KSM_NAMESPACE)
    assert (cronjobs["source_labels"], cronjobs["label_separator"]) == (["job", "namespace"], ";")
    assert cronjobs["dimensions"] == [["ClusterName", "namespace"]]
    matcher = cronjobs["label_matcher"]
    assert re.fullmatch(matcher, f"{KSM_NAMESPACE};reports")
    assert not re.fullmatch(matcher, f"{KSM_NAMESPACE};api") and not re.fullmatch(matcher, "reports;reports")
    [selector] = cronjobs["metric_selectors"]
    assert {
        name
        for name in (KSM_LAST_SCHEDULE, KSM_LAST_SUCCESS, "kube_cronjob_info")
        if re.search(selector, name)
    } == {
        KSM_LAST_SCHEDULE,
        KSM_LAST_SUCCESS,
    }


def test_the_add_on_values_pass_the_add_on_and_agent_schemas(recording: Recording) -> None:
    values = _addon_values(recording)
    validator = jsonschema.Draft7Validator(json.loads(ADDON_SCHEMA.read_text()))
    validator.validate(values)
    [_, scraper] = values["agents"]
    jsonschema.validate(scraper["config"], json.loads(AGENT_SCHEMA.read_text()))


def test_a_cronjob_alone_still_gets_the_scraper() -> None:
    raw = with_apps(shipped("prod"), REPORTS)
    raw["paved:apps"] = [
        {key: value for key, value in app.items() if key != "metricsPath"} for app in raw["paved:apps"]
    ]
    [_, scraper] = _addon_values(run_project(ROOT, "prod", raw))["agents"]
    assert [job["job_name"] for job in scraper["prometheus"]["config"]["scrape_configs"]] == [KSM_NAMESPACE]
    [declaration] = scraper["config"]["logs"]["metrics_collected"]["prometheus"]["emf_processor"][
        "metric_declaration"
    ]
    assert declaration["source_labels"] == ["job", "namespace"]


# --- the alarm ---


def test_each_cronjob_app_has_a_failed_runs_alarm(recording: Recording) -> None:
    alarm = recording.one(ALARM, "app-reports-failed-runs").inputs
    assert alarm["name"] == "prod-app-reports-failed-runs"
    assert alarm["alarmDescription"].endswith("(runbook: docs/runbooks/cronjob-failed.md)")
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (14, 14)
    assert alarm["treatMissingData"] == "notBreaching"
    queries = {query["id"]: query for query in alarm["metricQueries"]}
    assert queries["unsucceeded"] == {
        "id": "unsucceeded",
        "expression": "IF(scheduled > FILL(succeeded, 0), 1, 0)",
        "label": "last run not succeeded",
        "returnData": True,
    }
    for query_id, metric_name, stat in (
        ("scheduled", KSM_LAST_SCHEDULE, "Minimum"),
        ("succeeded", KSM_LAST_SUCCESS, "Maximum"),
    ):
        assert queries[query_id]["metric"] == {
            "namespace": APP_METRICS_NAMESPACE,
            "metricName": metric_name,
            "dimensions": {"ClusterName": "paved-prod", "namespace": "reports"},
            "period": 300,
            "stat": stat,
        }
    # The window outlasts the preset's 300 s to start and 3600 s to run.
    assert alarm["evaluationPeriods"] * 300 > 300 + 3600
    # A cronjob's pods never restart (restartPolicy Never): no restarts alarm.
    assert not [r for r in recording.of_type(ALARM) if r.name == "app-reports-restarts"]


@pytest.mark.parametrize(
    ("app", "path"),
    [
        (
            {**REPORTS, "alarms": {"restarts": {"threshold": 2, "periods": 1, "periodSeconds": 300}}},
            "restarts",
        ),
        ({**REPORTS, "alarms": {"failedRuns": {"periods": 13}}}, "failedRuns.periods"),
        (
            {**REPORTS, "cronjob": {**REPORTS["cronjob"], "activeDeadlineSeconds": 7200}},
            "failedRuns.periods",
        ),
        ({**REPORTS, "alarms": {"failedRuns": {"threshold": 1}}}, "failedRuns"),
    ],
    ids=["restarts", "window-shorter-than-a-run", "longer-deadline", "threshold"],
)
def test_a_cronjobs_alarm_rules(app: Raw, path: str) -> None:
    assert_rule_reports_path_and_hint(
        "prod", lambda raw: {**raw, "paved:apps": [*raw["paved:apps"], app]}, f"paved:apps[3].alarms.{path}"
    )


def test_a_service_has_no_failed_runs_alarm() -> None:
    assert_rule_reports_path_and_hint(
        "prod",
        lambda raw: {
            **raw,
            "paved:apps": [
                {
                    **raw["paved:apps"][0],
                    "alarms": {"failedRuns": {"threshold": 0, "periods": 14, "periodSeconds": 300}},
                },
                *raw["paved:apps"][1:],
            ],
        },
        "paved:apps[0].alarms.failedRuns",
    )
