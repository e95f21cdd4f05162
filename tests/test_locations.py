"""Where a resource's violation is fixed (paved/locations.py): its config key's line in the stack file, else
the program line that registered it, else the stack file's first line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paved.config import SECTION_KEYS
from paved.locations import COMPONENT_KEYS, WORKLOAD_TYPE, Location, Locator
from paved.program import load_project, load_stack_config
from paved.recorder import RecordedResource, Recording
from tests.conftest import ROOT

PREFIX = "urn:pulumi:{stack}::paved::"
DATABASE = "paved:database:Database$aws:rds/instance:Instance::database"
REPLICA = "paved:database:Database$aws:rds/instance:Instance::database-replica-1"
WEB_DEPLOYMENT = "paved:workload:Workload$kubernetes:apps/v1:Deployment::web"
KEYS_KEY = "paved:secrets:Keys$paved:kms:KmsKey$aws:kms/key:Key::data"


def _locator(stack: str, recording: Recording) -> Locator:
    project = load_project(ROOT)
    config = load_stack_config(project, stack)
    return Locator(ROOT, project.stack_file(stack), recording, config.values)


def _line(stack: str, text: str) -> int:
    lines = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text().splitlines()
    [number] = [index for index, line in enumerate(lines, 1) if line.strip().startswith(text)]
    return number


@pytest.fixture(scope="module")
def locate(shipped_recordings: Callable[[str], Recording]) -> Callable[[str, str], Location]:
    locators = {stack: _locator(stack, shipped_recordings(stack)) for stack in ("prod", "staging")}
    return lambda stack, urn: locators[stack].locate(PREFIX.format(stack=stack) + urn if urn else "")


def test_a_resource_is_at_the_stack_file_line_of_its_components_key(
    locate: Callable[[str, str], Location],
) -> None:
    line = _line("prod", "paved:database:")
    database = Location("stacks/Pulumi.prod.yaml", line, "configured by paved:database", "paved:database")
    assert locate("prod", DATABASE) == database
    assert locate("prod", REPLICA) == locate("prod", DATABASE)
    # An app's Workload is its entry in paved:apps, found by the app's name.
    web = locate("prod", WEB_DEPLOYMENT)
    assert (web.uri, web.line, web.config_key) == (
        "stacks/Pulumi.prod.yaml",
        _line("prod", "- name: web"),
        "paved:apps[0]",
    )


def test_a_key_the_stack_file_leaves_to_the_preset_falls_back_to_the_registration_line(
    locate: Callable[[str, str], Location], shipped_recordings: Callable[[str], Recording]
) -> None:
    # Staging sets no paved:database: the instance is where components/database.py registers it.
    found = locate("staging", DATABASE)
    instance = shipped_recordings("staging").by_urn()[PREFIX.format(stack="staging") + DATABASE]
    assert (found.uri, found.reason, found.config_key) == ("components/database.py", "registered here", None)
    assert instance.source_position == f"project:///components/database.py#{found.line}"
    assert (
        "aws.rds.Instance(" in (ROOT / "components" / "database.py").read_text().splitlines()[found.line - 1]
    )


def test_a_component_built_from_no_section_is_at_its_registration_line(
    locate: Callable[[str, str], Location],
) -> None:
    found = locate("prod", KEYS_KEY)
    assert (found.uri, found.reason) == ("components/kms.py", "registered here")
    assert "aws.kms.Key(" in (ROOT / "components" / "kms.py").read_text().splitlines()[found.line - 1]


def test_what_no_program_line_of_the_project_registered_is_at_the_stack_files_first_line(
    locate: Callable[[str, str], Location], shipped_recordings: Callable[[str], Recording]
) -> None:
    recording = shipped_recordings("prod")
    # The SDK names a line inside itself (a virtualenv) for the Stack and for an explicit provider (whose
    # parent is the Stack); a default provider is the engine's, registered by no program line.
    providers = {r.name: r for r in recording.of_type("pulumi:providers:aws")}
    explicit, default = providers["us-east-1"], providers["default_7_51_1"]
    for resource in (recording.stack_resource, explicit):
        assert "/site-packages/" in resource.source_position
    assert default.source_position == ""
    first_line = ("stacks/Pulumi.prod.yaml", 1)
    for urn in (recording.stack_resource.urn, explicit.urn, default.urn):
        found = locate("prod", urn.removeprefix(PREFIX.format(stack="prod")))
        assert (found.uri, found.line) == first_line
    assert (locate("prod", "").uri, locate("prod", "").line, locate("prod", "").reason) == (
        *first_line,
        "the stack file: a stack-level violation",
    )


def test_the_component_table_names_components_and_sections_the_program_has(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    # A renamed component or section would silently send its resources to their registration lines.
    components = {r.type for r in shipped_recordings("prod").resources if not r.custom}
    assert {*COMPONENT_KEYS, WORKLOAD_TYPE} <= components
    assert {key.removeprefix("paved:") for key in COMPONENT_KEYS.values()} <= set(SECTION_KEYS)


def test_paths_are_relative_to_the_repository_root_and_a_parents_line_stands_in(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    project = tmp_path / "infra" / "app"
    project.mkdir(parents=True)
    (project / "main.py").write_text("import pulumi\n\nComponent('c')\n")
    component = RecordedResource(
        "urn:c", "acme:x:C", "c", False, "", {}, source_position="project:///main.py#3"
    )
    child = RecordedResource(
        "urn:k",
        "acme:x:K",
        "k",
        True,
        "urn:c",
        {},
        source_position="project:///.venv/lib/python3.11/site-packages/acme/x.py#9",
    )
    recording = Recording(project="acme", stack="dev", resources=[component, child])
    locator = Locator(project, project / "Pulumi.dev.yaml", recording, {})
    assert locator.root == tmp_path
    assert locator.locate("urn:k") == Location("infra/app/main.py", 3, "its parent 'c' registered here")
    assert locator.locate("urn:c") == Location("infra/app/main.py", 3, "registered here")
