"""Audit and threat detection (components/audit.py), the bootstrap program's opt-in: a multi-region trail,
GuardDuty with EKS audit logs and runtime monitoring, Security Hub CSPM with FSBP and the AWS Config
recording it needs. Read as the engine records their inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.audit import cloudtrail_bucket_statements
from paved.bootstrap_config import load_bootstrap_config
from paved.errors import ConfigError
from paved.program import run_project
from paved.recorder import Recording

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "bootstrap"
SHIPPED = yaml.safe_load((BOOTSTRAP / "stacks" / "Pulumi.main.yaml").read_text())["config"]
AUDIT_TYPES = (
    "aws:cloudtrail/trail:Trail",
    "aws:guardduty/detector:Detector",
    "aws:securityhub/account:Account",
    "aws:cfg/recorder:Recorder",
)


def test_the_trail_covers_every_region_signs_its_files_and_encrypts_them(bootstrap: Recording) -> None:
    trail = bootstrap.one("aws:cloudtrail/trail:Trail")
    inputs = trail.inputs
    assert (inputs["isMultiRegionTrail"], inputs["includeGlobalServiceEvents"]) == (True, True)
    assert inputs["enableLogFileValidation"] is True
    key = next(k for k in bootstrap.of_type("aws:kms/key:Key") if k.name == "audit-logs")
    assert trail.property_dependencies["kmsKeyId"] == [key.urn] and key.protect
    # CloudTrail checks its bucket policy when the trail is made.
    [policy] = [p for p in bootstrap.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "audit-logs"]
    assert policy.urn in trail.dependencies


def test_only_this_trail_may_write_to_the_bucket_and_use_the_key(bootstrap: Recording) -> None:
    account, region = bootstrap.place.account, bootstrap.place.region
    trail_arn = f"arn:aws:cloudtrail:{region}:{account}:trail/paved-audit"
    # The bucket's policy names the bucket, unknown until it exists: its statements are judged as built.
    statements = {s["Sid"]: s for s in cloudtrail_bucket_statements("arn:aws:s3:::audit", account, trail_arn)}
    write = statements["CloudTrailWrite"]
    assert write["Resource"] == f"arn:aws:s3:::audit/AWSLogs/{account}/*"
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": trail_arn,
    }
    assert statements["CloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    [policy] = [p for p in bootstrap.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "audit-logs"]
    trail = bootstrap.one("aws:cloudtrail/trail:Trail")
    assert trail.inputs["name"] == "paved-audit" and policy.urn in trail.dependencies
    key = next(k for k in bootstrap.of_type("aws:kms/key:Key") if k.name == "audit-logs")
    by_principal = [s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]]
    assert all(s["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn for s in by_principal)
    [encrypt] = [s for s in by_principal if s["Action"] != "kms:DescribeKey"]
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"
    }


def test_guardduty_watches_eks_audit_logs_and_runtime_with_its_managed_agent(bootstrap: Recording) -> None:
    detector = bootstrap.one("aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    features = {
        f.inputs["name"]: f for f in bootstrap.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    # RUNTIME_MONITORING supersedes EKS_RUNTIME_MONITORING: both at once is refused.
    assert set(features) == {"EKS_AUDIT_LOGS", "RUNTIME_MONITORING"}
    assert all(f.inputs["status"] == "ENABLED" and f.inputs["detectorId"] for f in features.values())
    assert features["RUNTIME_MONITORING"].inputs["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]


def test_security_hub_subscribes_fsbp_alone_on_a_config_recording_of_everything(bootstrap: Recording) -> None:
    hub = bootstrap.one("aws:securityhub/account:Account")
    assert hub.inputs["enableDefaultStandards"] is False
    subscription = bootstrap.one("aws:securityhub/standardsSubscription:StandardsSubscription")
    assert subscription.inputs["standardsArn"] == (
        f"arn:aws:securityhub:{bootstrap.place.region}::standards/aws-foundational-security-best-practices/v/1.0.0"
    )
    assert hub.urn in subscription.dependencies
    recorder = bootstrap.one("aws:cfg/recorder:Recorder")
    assert recorder.inputs["recordingGroup"] == {"allSupported": True, "includeGlobalResourceTypes": True}
    channel = bootstrap.one("aws:cfg/deliveryChannel:DeliveryChannel")
    status = bootstrap.one("aws:cfg/recorderStatus:RecorderStatus")
    # AWS Config takes a channel only for an existing recorder, and starts recording once it can deliver.
    assert recorder.urn in channel.dependencies and channel.urn in status.dependencies
    assert status.inputs["isEnabled"] is True
    role = next(r for r in bootstrap.of_type("aws:iam/role:Role") if r.name == "audit-config")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "config.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": bootstrap.place.account}


def test_audit_is_opt_in() -> None:
    recording = run_project(BOOTSTRAP, "main", config_overrides={**SHIPPED, "paved:audit": {}})
    for type_ in AUDIT_TYPES:
        assert recording.of_type(type_) == [], type_
    assert not [k for k in recording.of_type("aws:kms/key:Key") if k.name == "audit-logs"]


def test_bad_audit_config_is_one_error_with_hints() -> None:
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_config(
            {**SHIPPED, "paved:audit": {"cloudTrail": "yes", "logRetentionDays": 30}}, "main"
        )
    assert [p.path for p in caught.value.problems] == [
        "paved:audit.cloudTrail",
        "paved:audit.logRetentionDays",
    ]
    assert all(p.hint for p in caught.value.problems)
