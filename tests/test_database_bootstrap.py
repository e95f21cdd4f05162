"""The role bootstrap Job (components/database_bootstrap.py), as recorded for the real stacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from components.database_users import script_digest
from paved.config import load_stack_file
from paved.recorder import RecordedResource, Recording
from tests.manifests import manifest

ROOT = Path(__file__).resolve().parent.parent
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@pytest.fixture(scope="module", params=("prod", "staging"))
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def _bootstrap_job(recording: Recording) -> RecordedResource:
    return recording.one(JOB, "database-bootstrap")


def test_bootstrap_job_runs_its_script_with_synced_credentials_and_nothing_else(recording: Recording) -> None:
    job = _bootstrap_job(recording)
    assert job.inputs["metadata"]["namespace"] == "paved-database"
    script = recording.one(CONFIG_MAP, "database-bootstrap-script")
    credentials = recording.one(EXTERNAL_SECRET, "database-bootstrap-credentials")
    # pulumi-kubernetes waits until External Secrets has synced the master and app passwords.
    assert credentials.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    assert {script.urn, credentials.urn} <= set(job.dependencies)
    # The Job is named after its script: new users or passwords are a new Job, the same script is not.
    digest = script_digest(script.inputs["data"]["bootstrap.sql"])
    assert (
        job.inputs["metadata"]["name"] == script.inputs["metadata"]["name"] == f"database-bootstrap-{digest}"
    )
    assert script.inputs["immutable"] is True
    spec = job.inputs["spec"]
    assert "ttlSecondsAfterFinished" not in spec
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    keys = [item["secretKey"] for item in credentials.inputs["spec"]["data"]]
    config = load_stack_file(ROOT / "stacks" / f"Pulumi.{recording.stack}.yaml", recording.stack)
    passwords = [
        f"PAVED_PASSWORD_{app.database_role.upper()}"
        for app in config.apps
        if app.database is not None and app.database.auth == "password"
    ]
    assert keys == ["PGUSER", "PGPASSWORD", *passwords]
    [policy] = [
        p
        for p in recording.of_type(NETWORK_POLICY)
        if p.inputs["metadata"]["namespace"] == "paved-database" and p.inputs["spec"]["podSelector"] != {}
    ]
    egress = manifest(policy.inputs["spec"])["egress"]
    assert sorted(port["port"] for rule in egress for port in rule["ports"]) == [53, 53, 5432]
    assert not manifest(policy.inputs["spec"]).get("ingress")
