"""`paved secrets rotate`: raising a secret's version in a copy of the shipped stack files (comments and
layout kept, one line changed), Secrets Manager's own rotation against a moto server, and refusals."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from paved.cli import app
from paved.config import load_stack_config
from paved.recorder import Recording
from paved.rotate import plan
from paved.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's Pulumi.yaml and stack files, with an empty program: what the command reads."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    (tmp_path / "__main__.py").write_text("")
    return tmp_path


def _rotate(project: Path, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, ["secrets", "rotate", *args, "-C", str(project)], input=input)


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_generated_secret_gets_its_version_raised_and_nothing_else_changes(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    result = _rotate(project, "JWT_SECRET", "--stack", "prod", "--yes")
    assert result.exit_code == 0, result.output
    assert _changed_lines(before, stack_file.read_text()) == ["+      version: 2"]
    assert "raise paved:secrets.JWT_SECRET.version from 1 to 2" in result.stdout
    assert "`pulumi up --stack prod`" in result.stdout
    # Again: the line is replaced, not added twice.
    assert _rotate(project, "JWT_SECRET", "--stack", "prod", "--yes").exit_code == 0
    assert _changed_lines(before, stack_file.read_text()) == ["+      version: 3"]
    config = load_stack_config(read_yaml(stack_file)["config"], "prod")
    assert config.secrets["JWT_SECRET"].version == 3


def test_the_cache_url_rotates_with_the_cache_auth_token_in_a_section_the_file_did_not_have(
    project: Path,
) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    assert "paved:cache:" not in before
    result = _rotate(project, "REDIS_URL", "--stack", "prod", "--yes")
    assert result.exit_code == 0, result.output
    assert _changed_lines(before, stack_file.read_text()) == ["+  paved:cache:", "+    authTokenVersion: 2"]


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        ("database-password", "paved:database.passwordVersion"),  # prod has replicas: paved generates it
        ("origin-secret", "paved:edge.originSecretVersion"),
        ("cache-auth-token", "paved:cache.authTokenVersion"),
    ],
)
def test_the_secrets_paved_makes_for_itself_rotate_by_their_version(
    project: Path, secret: str, key: str
) -> None:
    result = _rotate(project, secret, "--stack", "prod", "--yes")
    assert result.exit_code == 0, result.output
    assert f"Raised {key} to 2" in result.stdout


def test_every_version_it_raises_is_the_one_the_secrets_rotation_tag_names(prod: Recording) -> None:
    """What the command edits and what each secret's `paved:rotation` tag tells its readers agree."""
    tags = {
        secret.inputs["tags"]["paved:rotation"]
        for secret in prod.of_type("aws:secretsmanager/secret:Secret")
        if "paved:rotation" in secret.inputs.get("tags", {})
    }
    config = load_stack_config(read_yaml(ROOT / "stacks" / "Pulumi.prod.yaml")["config"], "prod")
    raised = {
        f"raise {plan(secret, config).key_text}"
        for secret in ("JWT_SECRET", "database-password", "origin-secret", "cache-auth-token")
    }
    assert raised <= tags


def test_an_external_secret_is_its_owners_to_rotate_and_nothing_changes(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    stack_file.write_text(
        stack_file.read_text().replace(
            "  paved:secrets:                 # names only; paved never reads a secret value from config\n",
            "  paved:secrets:                 # names only; paved never reads a secret value from config\n"
            "    STRIPE_KEY:\n      source: external\n",
        )
    )
    before = stack_file.read_text()
    result = _rotate(project, "STRIPE_KEY", "--stack", "prod", "--yes")
    assert result.exit_code == 2
    assert "aws secretsmanager put-secret-value" in result.stderr
    assert stack_file.read_text() == before


def test_an_unknown_secret_is_refused_with_the_stacks_secrets(project: Path) -> None:
    result = _rotate(project, "JWT", "--stack", "prod", "--yes")
    assert result.exit_code == 2
    assert re.search(
        r"JWT is not a secret of this stack; its secrets: JWT_SECRET, REDIS_URL, ", result.stderr
    )


def test_a_declined_prompt_changes_nothing(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    result = _rotate(project, "JWT_SECRET", "--stack", "prod", input="n\n")
    assert result.exit_code == 0
    assert "Nothing changed." in result.stdout
    assert stack_file.read_text() == before


def test_the_rds_managed_master_password_rotates_in_secrets_manager(
    project: Path, aws: str, tmp_path: Path
) -> None:
    """Staging lets RDS manage the master password (no replicas): its rotation is Secrets Manager's."""
    secretsmanager = boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=aws)
    arn = secretsmanager.create_secret(Name="rds!db-0123", SecretString='{"username": "paved"}')["ARN"]
    before = secretsmanager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"region": "eu-west-1", "database_master_secret_arn": arn}))
    stack_file = project / "stacks" / "Pulumi.staging.yaml"
    unchanged = stack_file.read_text()
    result = _rotate(
        project,
        "database-password",
        "--stack",
        "staging",
        "--outputs",
        str(outputs),
        "--endpoint-url",
        aws,
        "--yes",
    )
    assert result.exit_code == 0, result.output
    [version] = re.findall(r"new version (\S+);", result.stdout)
    assert version in secretsmanager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert version not in before
    assert stack_file.read_text() == unchanged
