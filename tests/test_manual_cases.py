"""The front door as a new user meets it (#15): forty hand-made mistakes in a copy of the prod stack file,
each run through `paved preview` as the command runs it (the real program, offline), each expected to end in
one clear error that names the key (or the file position) and gives a hint, before any resource is declared.

Each case edits the text of stacks/Pulumi.prod.yaml the way a person would, so YAML-level mistakes are cases
too. The list doubles as the one in #15's closing note.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from paved.preview import run_preview

ROOT = Path(__file__).resolve().parents[1]
PROD_TEXT = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()

Edit = Callable[[str], str]


def replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert text.count(old) >= 1, f"{old!r} is not in the prod stack file"
        return text.replace(old, new, 1)

    return edit


def add(lines: str) -> Edit:
    """Keys added at the end of the `config:` map (two-space indented, as the file has them)."""
    return lambda text: text + "".join(f"  {line}\n" for line in lines.strip("\n").split("\n"))


def whole(text: str) -> Edit:
    return lambda _: text


@dataclass(frozen=True)
class Case:
    title: str
    edit: Edit
    expected: tuple[str, ...]  # each must appear in the error: the key path or file:line, and the gist


CASES = [
    Case("a tab in the indentation", replace("  paved:environment", "\tpaved:environment"), (":4:",)),
    Case(
        "the same key twice",
        add("paved:environment: staging"),
        ("duplicate key", "paved:environment"),
    ),
    Case("a !!binary value", add("paved:tags: !!binary aGVsbG8="), ("binary",)),
    Case("config written as a list", whole("config:\n  - aws:region: eu-west-1\n"), ("config",)),
    Case("an empty stack file", whole(""), ("paved:environment",)),
    Case("a lone surrogate escape", replace("team: platform", 'team: "\\ud800"'), ("surrogate",)),
    Case(
        "a typo in a section name",
        replace("paved:database:", "paved:databse:"),
        ("paved:databse", "database"),
    ),
    Case("no environment", replace("  paved:environment: prod\n", ""), ("paved:environment",)),
    Case(
        "environment 'production'",
        replace("environment: prod", "environment: production"),
        ("paved:environment",),
    ),
    Case("no region", replace("  aws:region: eu-west-1\n", ""), ("aws:region",)),
    Case(
        "a region that does not exist",
        replace("aws:region: eu-west-1", "aws:region: us-east-9"),
        ("aws:region",),
    ),
    Case(
        "a GovCloud region",
        replace("aws:region: eu-west-1", "aws:region: us-gov-west-1"),
        ("aws:region", "partition"),
    ),
    Case(
        "the DR region is the primary",
        replace("drRegion: eu-central-1", "drRegion: eu-west-1"),
        ("paved:drRegion",),
    ),
    Case(
        "a VPC CIDR with host bits",
        add("paved:network:\n    cidr: 10.0.0.1/16"),
        ("paved:network.cidr", "CIDR"),
    ),
    Case(
        "an instance class that does not exist",
        replace("allocatedStorage: 200", "instanceClass: db.x9.huge\n    allocatedStorage: 200"),
        ("paved:database.instanceClass",),
    ),
    Case(
        "a PostgreSQL version RDS no longer offers",
        replace("allocatedStorage: 200", 'engineVersion: "9.6"\n    allocatedStorage: 200'),
        ("paved:database.engineVersion",),
    ),
    Case(
        "multiAz: yes",
        replace("allocatedStorage: 200", 'multiAz: "yes"\n    allocatedStorage: 200'),
        ("paved:database.multiAz", "true or false"),
    ),
    Case(
        "backups kept 40 days (RDS allows 35)",
        replace("allocatedStorage: 200", "backupRetentionDays: 40\n    allocatedStorage: 200"),
        ("paved:database.backupRetentionDays",),
    ),
    Case(
        "the maintenance window overlaps the backup window",
        replace(
            "allocatedStorage: 200",
            "backupWindow: 03:00-04:00\n    maintenanceWindow: mon:03:30-mon:04:30\n"
            "    allocatedStorage: 200",
        ),
        ("paved:database.maintenanceWindow", "overlaps"),
    ),
    Case(
        "storage that can't grow (max below allocated)",
        replace("maxAllocatedStorage: 2000", "maxAllocatedStorage: 100"),
        ("paved:database.maxAllocatedStorage",),
    ),
    Case(
        "a cache node type that does not exist",
        add("paved:cache:\n    nodeType: cache.r99.mega"),
        ("paved:cache.nodeType",),
    ),
    Case(
        "a Valkey version ElastiCache does not offer",
        add('paved:cache:\n    engineVersion: "5.0"'),
        ("paved:cache.engineVersion",),
    ),
    Case(
        "a Kubernetes version EKS no longer supports",
        replace("  paved:cluster:\n", '  paved:cluster:\n    version: "1.20"\n'),
        ("paved:cluster.version",),
    ),
    Case(
        "a node instance type that does not exist",
        replace("  paved:cluster:\n", "  paved:cluster:\n    nodeInstanceTypes: [m7i.hugest]\n"),
        ("paved:cluster.nodeInstanceTypes",),
    ),
    Case("an app named kube-system", replace("name: web ", "name: kube-system "), ("paved:apps[0].name",)),
    Case("an app name with capitals", replace("name: web ", "name: Web_App "), ("paved:apps[0].name",)),
    Case(
        "an app name of 41 characters", replace("name: web ", f"name: {'w' * 41} "), ("paved:apps[0].name",)
    ),
    Case(
        "two apps with one name",
        replace("name: worker ", "name: api "),
        ("paved:apps[2].name", "paved:apps[1]"),
    ),
    Case(
        "two secrets that name the same AWS secret",
        replace("    REDIS_URL:\n", "    redis_url:\n      source: generated\n    REDIS_URL:\n"),
        ("redis_url", "REDIS_URL"),
    ),
    Case("an image tagged latest", replace("web:1.4.2", "web:latest"), ("paved:apps[0].image", "latest")),
    Case(
        "more minimum replicas than maximum",
        replace("min: 3\n        max: 20", "min: 30\n        max: 20"),
        ("paved:apps[0].replicas",),
    ),
    Case(
        "a CPU request of 'lots'", replace("cpuRequest: 500m", "cpuRequest: lots"), ("cpuRequest", "quantity")
    ),
    Case("a port above 65535", replace("port: 8080", "port: 70000"), ("paved:apps[2].port",)),
    Case(
        "an app using a secret that is not declared",
        replace("        - JWT_SECRET\n", "        - JWT_SECRETS\n"),
        ("paved:apps[1].secrets", "JWT_SECRETS"),
    ),
    Case(
        "blocking the UK as UK",
        replace("idleTimeoutSeconds: 300", "idleTimeoutSeconds: 300\n    geoBlockCountries: [UK]"),
        ("geoBlockCountries", "GB"),
    ),
    Case("an alert address without a domain", replace("ops@example.com", "ops@"), ("paved:alerts.emails",)),
    Case(
        "a tag key in AWS's own namespace", replace("team: platform", "aws:team: platform"), ("paved:tags",)
    ),
    Case("a tag value of 300 characters", replace("team: platform", f"team: {'p' * 300}"), ("paved:tags",)),
    Case(
        "a log retention CloudWatch doesn't offer",
        replace("allocatedStorage: 200", "logRetentionDays: 10\n    allocatedStorage: 200"),
        ("paved:database.logRetentionDays",),
    ),
    Case(
        "replicas written in Arabic-Indic digits",
        replace("min: 3", 'min: "٣"'),
        ("paved:apps[0].replicas.min",),
    ),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("project")
    (directory / "stacks").mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, directory / name)
    return directory


def test_the_list_has_forty_cases() -> None:
    assert len(CASES) == 40
    assert len({case.title for case in CASES}) == 40


@pytest.mark.parametrize("case", CASES, ids=[case.title for case in CASES])
def test_each_mistake_gets_one_clear_error_before_any_resource(case: Case, project: Path) -> None:
    (project / "stacks" / "Pulumi.prod.yaml").write_text(case.edit(PROD_TEXT))
    result = run_preview(project, "prod")
    assert result.failure is not None, "the mistake was accepted"
    assert "Traceback" not in result.failure
    for expected in case.expected:
        assert expected in result.failure
    assert "hint" in result.failure and result.exit_code == 2
    # Only the stack itself, which the SDK registers before the program's first line, as under the CLI.
    declared = result.recording.resources if result.recording else []
    assert [resource.type for resource in declared] in ([], ["pulumi:pulumi:Stack"])
