"""The CodeBuild family: sources without credentials (CodeBuild.1), no plaintext AWS keys (CodeBuild.2),
encrypted S3 logs (CodeBuild.3), logging (CodeBuild.4), privileged mode off (retired CodeBuild.5, still
judged), and encrypted report exports (CodeBuild.7).

tests/test_policy_pack.py runs the tables below with every other family's, through tests/policy_harness.py.
"""

from __future__ import annotations

from paved_policies.rules import codebuild

from tests.policy_harness import UNKNOWN, Deferral, Family, OtherType, PreviewUnknown, ResourceCase, but

PROJECT = "aws:codebuild/project:Project"
REPORT_GROUP = "aws:codebuild/reportGroup:ReportGroup"
FLEET = "aws:codebuild/fleet:Fleet"
SOURCE = "codebuild-source-no-credentials"
AWS_KEYS = "codebuild-env-no-plaintext-aws-keys"
LOGGING = "codebuild-logging-enabled"
S3_LOGS = "codebuild-s3-logs-encrypted"
PRIVILEGED = "codebuild-privileged-mode-off"
EXPORT = "codebuild-report-group-export-encrypted"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# As paved declares its runners (components/runner.py).
OURS = {
    "name": "paved-runner-prod",
    "source": {
        "type": "GITHUB",
        "location": "https://github.com/acme/infra.git",
        "auth": {"type": "CODECONNECTIONS", "resource": "arn:aws:codeconnections:eu-west-1:1:connection/x"},
    },
    "artifacts": {"type": "NO_ARTIFACTS"},
    "environment": {
        "type": "LINUX_CONTAINER",
        "computeType": "BUILD_GENERAL1_MEDIUM",
        "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        "privilegedMode": False,
    },
    "logsConfig": {
        "cloudwatchLogs": {"status": "ENABLED", "groupName": "/aws/codebuild/paved-runner-prod"},
        "s3Logs": {"status": "DISABLED"},
    },
}
S3_EXPORT = {"exportConfig": {"type": "S3", "s3Destination": {"bucket": "reports", "encryptionKey": KEY_ARN}}}


def _environment(**changes: object) -> dict[str, object]:
    return but(OURS, environment={**OURS["environment"], **changes})


RESOURCE_CASES: list[ResourceCase] = [
    ("source-plain-url", SOURCE, PROJECT, OURS, "ok", ""),
    (
        "source-token-in-url",
        SOURCE,
        PROJECT,
        but(
            OURS, source={"type": "BITBUCKET", "location": "https://user:app-password@bitbucket.org/a/b.git"}
        ),
        "violation",
        "credentials in its source location",
    ),
    (
        "secondary-source-token-in-url",
        SOURCE,
        PROJECT,
        but(OURS, secondarySources=[{"type": "GITHUB", "location": "https://ghp_abc@github.com/a/b.git"}]),
        "violation",
        "secondarySources[0] location",
    ),
    ("no-aws-keys", AWS_KEYS, PROJECT, OURS, "ok", ""),
    (
        "aws-key-plaintext-by-default",
        AWS_KEYS,
        PROJECT,
        _environment(environmentVariables=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]),
        "violation",
        "sets AWS_SECRET_ACCESS_KEY as a plaintext variable",
    ),
    (
        "aws-key-from-secrets-manager",
        AWS_KEYS,
        PROJECT,
        _environment(
            environmentVariables=[{"name": "AWS_ACCESS_KEY_ID", "value": "ci:key", "type": "SECRETS_MANAGER"}]
        ),
        "ok",
        "",
    ),
    ("cloudwatch-logs", LOGGING, PROJECT, OURS, "ok", ""),
    # CloudWatch Logs is on unless turned off.
    ("logging-by-default", LOGGING, PROJECT, {"name": "p", "environment": OURS["environment"]}, "ok", ""),
    (
        "s3-logs-only",
        LOGGING,
        PROJECT,
        but(
            OURS,
            logsConfig={
                "cloudwatchLogs": {"status": "DISABLED"},
                "s3Logs": {"status": "ENABLED", "location": "b/p"},
            },
        ),
        "ok",
        "",
    ),
    (
        "no-logs",
        LOGGING,
        PROJECT,
        but(OURS, logsConfig={"cloudwatchLogs": {"status": "DISABLED"}}),
        "violation",
        "both CloudWatch and S3 logs disabled",
    ),
    (
        "s3-logs-encrypted",
        S3_LOGS,
        PROJECT,
        but(OURS, logsConfig={"s3Logs": {"status": "ENABLED"}}),
        "ok",
        "",
    ),
    (
        "s3-logs-unencrypted",
        S3_LOGS,
        PROJECT,
        but(
            OURS, logsConfig={"s3Logs": {"status": "ENABLED", "location": "b/p", "encryptionDisabled": True}}
        ),
        "violation",
        "unencrypted S3 logs",
    ),
    ("unprivileged", PRIVILEGED, PROJECT, OURS, "ok", ""),
    (
        "privileged",
        PRIVILEGED,
        PROJECT,
        _environment(privilegedMode=True),
        "violation",
        "runs in privileged mode",
    ),
    ("export-encrypted", EXPORT, REPORT_GROUP, S3_EXPORT, "ok", ""),
    ("no-export", EXPORT, REPORT_GROUP, {"exportConfig": {"type": "NO_EXPORT"}}, "ok", ""),
    (
        "export-unencrypted",
        EXPORT,
        REPORT_GROUP,
        {"exportConfig": {"type": "S3", "s3Destination": {"bucket": "reports", "encryptionDisabled": True}}},
        "violation",
        "exports to S3 unencrypted",
    ),
    (
        "export-without-key",
        EXPORT,
        REPORT_GROUP,
        {"exportConfig": {"type": "S3", "s3Destination": {"bucket": "reports"}}},
        "violation",
        "with no encryptionKey",
    ),
]

DEFERRALS: list[Deferral] = [
    (SOURCE, PROJECT, but(OURS, source={"type": "GITHUB", "location": UNKNOWN})),
    (PRIVILEGED, PROJECT, _environment(privilegedMode=UNKNOWN)),
    (LOGGING, PROJECT, but(OURS, logsConfig={"cloudwatchLogs": {"status": UNKNOWN}})),
]

PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    # The key is another resource's output: a key the program creates.
    (
        EXPORT,
        REPORT_GROUP,
        {"exportConfig": {"type": "S3", "s3Destination": {"bucket": "reports", "encryptionKey": UNKNOWN}}},
        "ok",
    ),
]

OTHER_TYPES: list[OtherType] = [(PRIVILEGED, FLEET), (EXPORT, PROJECT)]

FAMILY = Family(
    name="codebuild",
    rules=codebuild.RULES,
    resource_cases=RESOURCE_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "source",
        "secondarySources",
        "location",
        "environment",
        "environmentVariables",
        "privilegedMode",
        "logsConfig",
        "cloudwatchLogs",
        "s3Logs",
        "status",
        "encryptionDisabled",
        "exportConfig",
        "s3Destination",
        "encryptionKey",
    ],
)
