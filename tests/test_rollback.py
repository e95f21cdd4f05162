"""`paved rollback APP --stack S` (paved/rollback.py): the previous image, read from the stack file's git
history in a real repository, set back in the stack file with its comments kept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paved.cli import app
from paved.rollback import RollbackError, changed_since, previous_revision
from tests.stack_config import project_copy

ROOT = Path(__file__).resolve().parent.parent
COMMENT = "# this stack's ECR repository for web (see paved:registry)"


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repository, capture_output=True, text=True, check=True
    ).stdout.strip()


def _commit(repository: Path, message: str) -> None:
    _git(repository, "add", "-A")
    _git(repository, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def _release(stack_file: Path, old: str, new: str, message: str) -> None:
    stack_file.write_text(stack_file.read_text().replace(old, new))
    _commit(stack_file.parent.parent, message)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's files a rollback reads, in a git repository of its own with three web
    releases: 1.4.0, 1.4.1, then today's 1.4.2; api changed in between."""
    shipped = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "image: web:1.4.2" in shipped and COMMENT in shipped
    project_copy(tmp_path, shipped.replace("image: web:1.4.2", "image: web:1.4.0"))
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, "Release web 1.4.0")
    _release(stack_file, "web:1.4.0", "web:1.4.1", "Release web 1.4.1")
    _release(stack_file, "api:2.7.0", "api:2.7.1", "Release api 2.7.1")
    _release(stack_file, "web:1.4.1", "web:1.4.2", "Release web 1.4.2")
    return tmp_path


def test_the_previous_image_is_the_newest_committed_one_that_differs(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    revision = previous_revision(stack_file, "web", "web:1.4.2")
    assert (revision.image, revision.subject) == ("web:1.4.1", "Release web 1.4.1")
    # api's own history: its previous image, not web's.
    assert previous_revision(stack_file, "api", "api:2.7.1").image == "api:2.7.0"
    with pytest.raises(RollbackError, match="nothing to return to"):
        previous_revision(stack_file, "worker", "worker:2.7.0")


def test_rollback_sets_the_image_and_keeps_the_rest_of_the_file(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    command = ["rollback", "web", "--stack", "prod", "-C", str(project)]
    declined = CliRunner().invoke(app, command, input="n\n")
    assert declined.exit_code == 0 and stack_file.read_text() == before
    assert "image web:1.4.2 -> web:1.4.1, as of commit" in declined.output
    done = CliRunner().invoke(app, [*command, "--yes"])
    assert done.exit_code == 0, done.output
    after = stack_file.read_text()
    assert after == before.replace("image: web:1.4.2", "image: web:1.4.1")
    assert COMMENT in after and "Next: commit and push it" in done.output


def test_rollback_outside_git_or_of_an_unknown_app_is_refused(project: Path, tmp_path: Path) -> None:
    unknown = CliRunner().invoke(app, ["rollback", "nope", "--stack", "prod", "-C", str(project), "--yes"])
    assert unknown.exit_code == 2 and "has no app named nope" in unknown.output
    shutil.rmtree(project / ".git")
    outside = CliRunner().invoke(app, ["rollback", "web", "--stack", "prod", "-C", str(project), "--yes"])
    assert outside.exit_code == 2 and "git rev-parse --show-toplevel" in outside.output


def test_a_previous_image_todays_config_refuses_is_not_written(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    # Once, web ran an unpinned image, which the config now refuses.
    _release(stack_file, "web:1.4.2", "web:latest", "Release web latest")
    _release(stack_file, "web:latest", "web:1.5.0", "Release web 1.5.0")
    before = stack_file.read_text()
    refused = CliRunner().invoke(app, ["rollback", "web", "--stack", "prod", "-C", str(project), "--yes"])
    assert refused.exit_code == 2 and "is not a pinned image" in refused.output
    assert f"{stack_file} is unchanged" in refused.output.replace("\n", "")
    assert stack_file.read_text() == before


def test_a_failed_release_returns_every_app_it_changed_to_the_release_before(project: Path) -> None:
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    before_release = _git(project, "rev-parse", "HEAD")
    stack_file.write_text(
        stack_file.read_text().replace("web:1.4.2", "web:1.5.0").replace("api:2.7.1", "api:2.8.0")
    )
    _commit(project, "Release web 1.5.0")
    _release(stack_file, "api:2.8.0", "api:2.8.1", "Release api 2.8.1")  # the same push, a second commit
    released = stack_file.read_text()
    # Each app goes back to what ran before the push, not to the push's own intermediate 2.8.0.
    previous, new = changed_since(
        stack_file, before_release, {"web": "web:1.5.0", "api": "api:2.8.1", "jobs": "j:1"}
    )
    assert (previous, new) == ({"web": "web:1.4.2", "api": "api:2.7.1"}, ["jobs"])
    command = ["rollback", "--stack", "prod", "--released-since", before_release, "-C", str(project), "--yes"]
    done = CliRunner().invoke(app, command)
    assert done.exit_code == 0, done.output
    assert stack_file.read_text() == released.replace("web:1.5.0", "web:1.4.2").replace(
        "api:2.8.1", "api:2.7.1"
    )
    assert f"image api:2.8.1 -> api:2.7.1, as of commit {before_release}" in done.output
    # Run again, nothing differs any more: nothing is written, and that is not a failure.
    _commit(project, "Roll back")
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0 and "nothing to roll back" in again.output


def test_rollback_takes_one_app_or_a_release_never_both(project: Path) -> None:
    base = ["rollback", "--stack", "prod", "-C", str(project), "--yes"]
    both = CliRunner().invoke(app, [*base, "web", "--released-since", "HEAD~1"])
    neither = CliRunner().invoke(app, base)
    unknown = CliRunner().invoke(app, [*base, "--released-since", "no-such-commit"])
    for refused in (both, neither, unknown):
        assert refused.exit_code == 2, refused.output
    assert "no-such-commit" in unknown.output and "is unchanged" in unknown.output
