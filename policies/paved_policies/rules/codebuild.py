"""CodeBuild rules: projects' sources, environments and logs, and report groups' exports.

Security Hub retired CodeBuild.5 (privileged mode) in April 2024; paved still judges it, as checkov does.
https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from paved_policies.props import as_map, get_bool, get_map, get_seq, get_str, get_text, has_value
from paved_policies.rule import Finding, ResourceContext, compliant, resource_rule, violation

PROJECT = "aws:codebuild/project:Project"
REPORT_GROUP = "aws:codebuild/reportGroup:ReportGroup"
# What CodeBuild.2 looks for: the variables the AWS SDKs and CLI read as credentials.
_AWS_CREDENTIAL_VARIABLES = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})


def _sources(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [get_map(props, "source"), *(as_map(source) for source in get_seq(props, "secondarySources"))]


@resource_rule(
    name="codebuild-source-no-credentials",
    description="CodeBuild project source URLs carry no user name, password or token.",
    severity="critical",
    remediation=(
        "Put the repository's plain https URL in source.location, and give CodeBuild access through a "
        "connection (source.auth type CODECONNECTIONS) or a Secrets Manager secret (SECRETS_MANAGER)."
    ),
    resource_types=(PROJECT,),
    fsbp=("CodeBuild.1",),
    url="https://docs.aws.amazon.com/codebuild/latest/userguide/connections-github-app.html",
)
def codebuild_source_no_credentials(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # CodeBuild.1 reads Bitbucket URLs only; a secret in any URL is readable by whoever can read the project.
    for index, source in enumerate(_sources(props)):
        location = get_text(source, "location")
        if location is None:
            continue
        try:
            parsed = urlsplit(location)
        except ValueError:
            continue
        if parsed.username or parsed.password:
            where = "source" if index == 0 else f"secondarySources[{index - 1}]"
            return violation(f"CodeBuild project '{ctx.name}' has credentials in its {where} location.")
    return compliant()


@resource_rule(
    name="codebuild-env-no-plaintext-aws-keys",
    description="CodeBuild project environments hold no AWS access keys in plaintext variables.",
    severity="critical",
    remediation=(
        "Drop AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment: builds act with the "
        "project's service role. A secret the build needs goes in a SECRETS_MANAGER or PARAMETER_STORE "
        "variable."
    ),
    resource_types=(PROJECT,),
    cdk_nag=("CodeBuildProjectEnvVarAwsCred",),
    fsbp=("CodeBuild.2",),
    url="https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html",
)
def codebuild_env_no_plaintext_aws_keys(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    for variable in get_seq(get_map(props, "environment"), "environmentVariables"):
        name = get_str(variable, "name")
        kind = get_text(variable, "type") or "PLAINTEXT"
        if name in _AWS_CREDENTIAL_VARIABLES and kind == "PLAINTEXT":
            return violation(f"CodeBuild project '{ctx.name}' sets {name} as a plaintext variable.")
    return compliant()


@resource_rule(
    name="codebuild-logging-enabled",
    description="CodeBuild projects send build logs to CloudWatch Logs or S3.",
    severity="medium",
    remediation=(
        "Leave logs_config.cloudwatch_logs enabled (its default) with a group_name of a KMS-encrypted log "
        "group with retention, or enable s3_logs."
    ),
    resource_types=(PROJECT,),
    checkov=("CKV_AWS_314",),
    fsbp=("CodeBuild.4",),
    url="https://docs.aws.amazon.com/codebuild/latest/APIReference/API_LogsConfig.html",
)
def codebuild_logging_enabled(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    logs = get_map(props, "logsConfig")
    # CloudWatch Logs is ENABLED unless set otherwise; S3 logs are DISABLED unless set.
    cloudwatch = get_text(get_map(logs, "cloudwatchLogs"), "status") or "ENABLED"
    s3 = get_text(get_map(logs, "s3Logs"), "status") or "DISABLED"
    if "ENABLED" in (cloudwatch, s3):
        return compliant()
    return violation(f"CodeBuild project '{ctx.name}' has both CloudWatch and S3 logs disabled.")


@resource_rule(
    name="codebuild-s3-logs-encrypted",
    description="CodeBuild projects never turn off the encryption of their S3 build logs.",
    severity="low",
    remediation="Remove encryption_disabled from logs_config.s3_logs (or set it to false).",
    resource_types=(PROJECT,),
    checkov=("CKV_AWS_311",),
    fsbp=("CodeBuild.3",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/codebuild-project-s3-logs-encrypted.html",
)
def codebuild_s3_logs_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(get_map(get_map(props, "logsConfig"), "s3Logs"), "encryptionDisabled") is True:
        return violation(f"CodeBuild project '{ctx.name}' writes unencrypted S3 logs (encryptionDisabled).")
    return compliant()


@resource_rule(
    name="codebuild-privileged-mode-off",
    description=(
        "CodeBuild project environments do not run privileged: a privileged build runs a Docker daemon "
        "with root on its host."
    ),
    severity="high",
    remediation=(
        "Set environment.privileged_mode to false. Build container images in a pipeline of their own, not "
        "in a project that holds deploy credentials."
    ),
    resource_types=(PROJECT,),
    checkov=("CKV_AWS_316",),
    cdk_nag=("CodeBuildProjectPrivilegedModeDisabled",),
    url="https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectEnvironment.html",
)
def codebuild_privileged_mode_off(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(get_map(props, "environment"), "privilegedMode") is True:
        return violation(f"CodeBuild project '{ctx.name}' runs in privileged mode.")
    return compliant()


@resource_rule(
    name="codebuild-report-group-export-encrypted",
    description=(
        "CodeBuild report groups that export test results to S3 encrypt them with a named KMS key (stricter "
        "than CodeBuild.7, which checks only that encryption is not turned off)."
    ),
    severity="medium",
    remediation=(
        "Remove encryption_disabled from export_config.s3_destination (or set it to false), and set its "
        "encryption_key to a customer managed KMS key."
    ),
    resource_types=(REPORT_GROUP,),
    fsbp=("CodeBuild.7",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/codebuild-report-group-encrypted-at-rest.html",
)
def codebuild_report_group_export_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    export = get_map(props, "exportConfig")
    if get_text(export, "type") != "S3":
        return compliant()
    destination = get_map(export, "s3Destination")
    if get_bool(destination, "encryptionDisabled") is True:
        return violation(
            f"CodeBuild report group '{ctx.name}' exports to S3 unencrypted (encryptionDisabled)."
        )
    if not has_value(destination, "encryptionKey"):
        return violation(f"CodeBuild report group '{ctx.name}' exports to S3 with no encryptionKey.")
    return compliant()


RULES = (
    codebuild_source_no_credentials,
    codebuild_env_no_plaintext_aws_keys,
    codebuild_logging_enabled,
    codebuild_s3_logs_encrypted,
    codebuild_privileged_mode_off,
    codebuild_report_group_export_encrypted,
)
