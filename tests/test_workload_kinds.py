"""Workers without a port and scheduled jobs (paved:apps[].kind), as the engine records them: checked against
Kubernetes' own schemas, the config rules and the policy pack."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from components.workload import APP_UID, cron_schedule, iana_time_zone
from paved.analyzer import StackContext, analyze_with_pack
from paved.config import load_stack_config as parse_config
from paved.errors import ConfigError
from paved.program import load_project, load_stack_config
from paved.recorder import RecordedResource, Recording
from tests.manifests import manifest
from tests.stack_config import MAILER, REPORTS, Raw, assert_rule_reports_path_and_hint, shipped, with_apps

ROOT = Path(__file__).resolve().parent.parent
CRON_JOB = "kubernetes:batch/v1:CronJob"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
COMPANIONS = (
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:core/v1:Service",
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
)


@pytest.fixture(scope="module")
def kinds(prod_with_kinds: Recording) -> Recording:
    """prod with a cronjob that reads the api's schema and a worker without a port."""
    return prod_with_kinds


def _named(recording: Recording, type_: str, app: str) -> RecordedResource:
    [resource] = [
        r
        for r in recording.of_type(type_)
        if r.inputs["metadata"].get("namespace") == app and r.inputs["metadata"].get("name") == app
    ]
    return resource


def test_the_cronjob_and_the_worker_pass_strict_kubernetes_validation(kinds: Recording) -> None:
    for resource in (_named(kinds, CRON_JOB, "reports"), _named(kinds, DEPLOYMENT, "mailer")):
        kubernetes_validate.validate(manifest(resource.inputs), "1.36.0", strict=True)


def test_a_cronjobs_pods_are_the_apps_pods(kinds: Recording) -> None:
    spec = manifest(_named(kinds, CRON_JOB, "reports").inputs["spec"])
    assert {key: spec[key] for key in ("schedule", "timeZone", "concurrencyPolicy", "suspend")} == {
        "schedule": "30 2 * * MON-FRI",
        "timeZone": "Europe/Berlin",
        "concurrencyPolicy": "Forbid",
        "suspend": False,
    }
    job = spec["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (0, 3600)
    assert job["podFailurePolicy"]["rules"][0]["onPodConditions"] == [
        {"type": "DisruptionTarget", "status": "True"}
    ]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == ("reports", False)
    assert pod["securityContext"]["runAsUser"] == APP_UID
    [container] = pod["containers"]
    assert container["command"] == ["node", "report.js"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert [source.get("secretRef", source.get("configMapRef")) for source in container["envFrom"]] == [
        {"name": "reports-env"},
        {"name": "reports-secrets"},
    ]
    assert not {"ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle"} & set(container)
    # The app's NetworkPolicy selects the runs' pods: they reach the database and the cache like the app.
    policy = _named(kinds, NETWORK_POLICY, "reports").inputs["spec"]
    labels = job["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/component"] == "cronjob"
    assert policy.get("ingress", []) == []


def test_a_port_less_worker_probes_by_command_and_takes_no_traffic(kinds: Recording) -> None:
    [container] = _named(kinds, DEPLOYMENT, "mailer").inputs["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["exec"] == {"command": ["node", "ready.js"]}
    assert container["livenessProbe"]["exec"] == {"command": ["node", "live.js"]}
    assert "startupProbe" not in container and "ports" not in container
    assert _named(kinds, NETWORK_POLICY, "mailer").inputs["spec"].get("ingress", []) == []


def test_only_deployments_get_an_autoscaler_a_budget_and_a_restarts_alarm(kinds: Recording) -> None:
    # A cronjob's alarm is on failed runs instead (tests/test_kube_state_metrics.py).
    for type_ in COMPANIONS:
        assert not [r for r in kinds.of_type(type_) if r.inputs["metadata"].get("namespace") == "reports"]
    assert [r for r in kinds.of_type(COMPANIONS[0]) if r.inputs["metadata"].get("namespace") == "mailer"]
    alarms = {r.name for r in kinds.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert "app-mailer-restarts" in alarms
    assert [name for name in alarms if "reports" in name] == ["app-reports-failed-runs"]


def test_the_pack_passes_a_cronjob_and_a_port_less_worker(kinds: Recording) -> None:
    config = load_stack_config(
        load_project(ROOT), "prod", {"paved:apps": with_apps(shipped("prod"), REPORTS, MAILER)["paved:apps"]}
    )
    context = StackContext("paved", "prod", "organization", config.values, config.secret_keys)
    result = analyze_with_pack(ROOT / "policies", kinds, context)
    assert [v for v in result.violations if v.level != "advisory"] == []
    # Only what no role of any app can show in preview (its trust policy names the cluster's OIDC issuer).
    ours = [v for v in result.violations if "reports" in v.urn or "mailer" in v.urn]
    assert ours and all("during preview" in v.message for v in ours)


# --- config ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "path"),
    [
        ({**REPORTS, "replicas": {"min": 2, "max": 4}}, "paved:apps[3].replicas"),
        ({**REPORTS, "publicPath": "/reports/*"}, "paved:apps[3].publicPath"),
        ({**REPORTS, "port": 8080}, "paved:apps[3].port"),
        ({**REPORTS, "cronjob": {"schedule": "0 25 * * *"}}, "paved:apps[3].cronjob.schedule"),
        ({**REPORTS, "cronjob": {"schedule": "TZ=UTC 0 3 * * *"}}, "paved:apps[3].cronjob.schedule"),
        (
            {**REPORTS, "cronjob": {"schedule": "@daily", "timeZone": "Mars/Olympus"}},
            "paved:apps[3].cronjob.timeZone",
        ),
        ({**REPORTS, "cronjob": {"timeZone": "Etc/UTC"}}, "paved:apps[3].cronjob.schedule"),
        (
            {**REPORTS, "cronjob": {"schedule": "@daily", "startingDeadlineSeconds": 5}},
            "paved:apps[3].cronjob.startingDeadlineSeconds",
        ),
        (
            {key: value for key, value in REPORTS.items() if key != "cronjob"},
            "paved:apps[3].cronjob.schedule",
        ),
        ({**REPORTS, "cronjob": None}, "paved:apps[3].cronjob"),
        ({**MAILER, "healthCommands": None}, "paved:apps[3].healthCommands"),
        (
            {**MAILER, "healthPaths": {"startup": "/s", "readiness": "/r", "liveness": "/l"}},
            "paved:apps[3].healthCommands",
        ),
        (
            {
                **MAILER,
                "healthCommands": None,
                "healthPaths": {"startup": "/s", "readiness": "/r", "liveness": "/l"},
            },
            "paved:apps[3].healthPaths",
        ),
        ({**MAILER, "host": "mail.example.com"}, "paved:apps[3].host"),
        ({**MAILER, "metricsPath": "/metrics"}, "paved:apps[3].metricsPath"),
        ({**MAILER, "kind": "daemon"}, "paved:apps[3].kind"),
        ({**MAILER, "kind": "service"}, "paved:apps[3].port"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_keys_that_make_no_sense_for_the_kind_are_refused_at_their_path(app: Raw, path: str) -> None:
    assert_rule_reports_path_and_hint(
        "prod", lambda raw: {**raw, "paved:apps": [*raw["paved:apps"], app]}, path
    )


def test_stacks_without_kind_keep_todays_apps() -> None:
    config = parse_config(shipped("prod"), "prod")
    assert {app.kind for app in config.apps} == {"service"}
    worker = config.apps[2]
    assert not worker.is_public and worker.port == 8080 and worker.health_paths is not None


@pytest.mark.parametrize(
    "schedule", ["0 3 * * *", "*/15 * * * 1-5", "0 0 1,15 JAN-jun ?", "5-55/10 8-18 * * sat", "@hourly"]
)
def test_cron_schedules_the_controller_accepts(schedule: str) -> None:
    assert cron_schedule(schedule) == schedule


@pytest.mark.parametrize(
    "schedule",
    [
        "0 3 * *",
        "60 * * * *",
        "0 3 * * 7",
        "0 3 0 * *",
        "5-1 * * * *",
        "*/0 * * * *",
        "@every 1h",
        "? * * * *",
    ],
)
def test_cron_schedules_the_controller_refuses(schedule: str) -> None:
    with pytest.raises(ValueError):
        cron_schedule(schedule)


@pytest.mark.parametrize("zone", ["Local", "europe/berlin", "Europe/Berlin/", "../etc/passwd"])
def test_time_zones_outside_the_iana_database_are_refused(zone: str) -> None:
    with pytest.raises(ValueError):
        iana_time_zone(zone)


def test_a_worker_may_keep_a_port_and_http_probes() -> None:
    worker = {**MAILER, "healthCommands": None, "port": 8080, "metricsPath": "/metrics"}
    worker["healthPaths"] = {"startup": "/health", "readiness": "/ready", "liveness": "/live"}
    config = parse_config(with_apps(shipped("prod"), worker), "prod")
    assert config.apps[3].metrics_target is not None
    with pytest.raises(ConfigError):
        parse_config(with_apps(shipped("prod"), {**worker, "port": None}), "prod")
