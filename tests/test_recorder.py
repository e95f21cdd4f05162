"""The recorder must hand tests and policy packs what the engine would: URNs, providers, unknowns, secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime.proto import source_pb2

from paved.program import ProgramError, load_project, load_stack_config, record, run_project
from paved.recorder import Recording, source_position
from paved.values import RESOURCE_SIG, SIG_KEY, UNKNOWN, downgrade_resources, is_secret, reveal

SAMPLE = Path(__file__).parent / "fixtures" / "sample_program"
STACK_URN = "urn:pulumi:dev::demo::pulumi:pulumi:Stack::demo-dev"
INNER_URN = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner::inner"
VPC_URN = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner$aws:ec2/vpc:Vpc::inner-vpc"
DEFAULT_AWS = "urn:pulumi:dev::demo::pulumi:providers:aws::default_7_51_1"


@pytest.fixture(scope="module")
def sample() -> Recording:
    return run_project(SAMPLE, "dev")


def test_urns_prefix_the_full_parent_type_and_skip_the_stack(sample: Recording) -> None:
    urns = {resource.urn for resource in sample.resources}
    assert STACK_URN in urns
    assert "urn:pulumi:dev::demo::demo:index:Outer::outer" in urns
    assert INNER_URN in urns
    assert VPC_URN in urns
    assert "urn:pulumi:dev::demo::aws:s3/bucket:Bucket::tagged" in urns


def test_parents_are_recorded(sample: Recording) -> None:
    assert sample.one("aws:ec2/vpc:Vpc").parent == INNER_URN
    assert sample.one("aws:s3/bucket:Bucket", "tagged").parent == STACK_URN
    assert sample.stack_resource.parent == ""


def test_default_provider_is_a_resource_and_the_reference_of_unbound_resources(sample: Recording) -> None:
    provider = sample.one("pulumi:providers:aws", "default_7_51_1")
    assert provider.urn == DEFAULT_AWS
    assert provider.inputs == {"region": "eu-west-1", "version": "7.51.1"}
    assert sample.one("aws:ec2/vpc:Vpc").provider == f"{DEFAULT_AWS}::{UNKNOWN}"


def test_explicit_provider_reference(sample: Recording) -> None:
    explicit = sample.one("pulumi:providers:aws", "us-east-1")
    assert explicit.inputs["region"] == "us-east-1"
    assert sample.one("aws:s3/bucket:Bucket", "untagged").provider_urn == explicit.urn


def test_computed_outputs_are_unknown_and_invokes_are_known(sample: Recording) -> None:
    subnet = sample.one("aws:ec2/subnet:Subnet")
    assert subnet.inputs["vpcId"] == UNKNOWN
    assert subnet.inputs["availabilityZone"] == "eu-west-1a"
    assert sample.stack_outputs["vpcId"] == UNKNOWN


def test_dependencies_and_property_dependencies(sample: Recording) -> None:
    subnet = sample.one("aws:ec2/subnet:Subnet")
    assert subnet.property_dependencies["vpcId"] == [VPC_URN]
    assert VPC_URN in subnet.dependencies
    untagged = sample.one("aws:s3/bucket:Bucket", "untagged")
    assert VPC_URN in untagged.dependencies  # depends_on a component: the engine sees its children


def test_resource_options_are_recorded(sample: Recording) -> None:
    subnet = sample.one("aws:ec2/subnet:Subnet")
    assert subnet.protect is True
    assert subnet.ignore_changes == ["tags"]
    assert sample.one("aws:ec2/vpc:Vpc").protect is False
    assert sample.one("aws:s3/bucket:Bucket", "untagged").custom_timeouts == {
        "create": "10m",
        "update": "",
        "delete": "",
    }


def test_secrets_stay_secret(sample: Recording) -> None:
    secret_string = sample.one("aws:secretsmanager/secretVersion:SecretVersion").inputs["secretString"]
    assert is_secret(secret_string)
    assert reveal(secret_string) == "AAABAJ5bQ8mc1o3pvQmQ6E4pZ8c="


def test_stack_outputs_and_config_namespaces(sample: Recording) -> None:
    assert sample.stack_outputs["thing"] == {"a": 1}
    assert sample.stack_outputs["plain"] == "value"
    assert sample.one("demo:index:Inner").outputs == {"vpcId": UNKNOWN}


def test_stack_config_uses_the_project_namespace_and_marks_secure_keys() -> None:
    config = load_stack_config(load_project(SAMPLE), "dev")
    assert config.values["demo:plain"] == "value"
    assert config.values["demo:thing"] == '{"a": 1}'
    assert config.secret_keys == {"demo:password"}


def test_resource_references_are_downgraded_as_for_analyzers() -> None:
    custom = {SIG_KEY: RESOURCE_SIG, "urn": "urn:a", "id": UNKNOWN, "packageVersion": ""}
    component = {SIG_KEY: RESOURCE_SIG, "urn": "urn:component"}
    assert downgrade_resources({"a": [custom], "b": component}) == {"a": [UNKNOWN], "b": "urn:component"}


def test_program_errors_carry_what_was_registered() -> None:
    def failing() -> None:
        aws.s3.Bucket("before")
        raise pulumi.RunError("stop here")

    with pytest.raises(ProgramError) as caught:
        record(failing, config={"aws:region": "eu-west-1"})
    assert isinstance(caught.value.cause, pulumi.RunError)
    assert [r.name for r in caught.value.recording.of_type("aws:s3/bucket:Bucket")] == ["before"]


def test_invokes_without_an_offline_answer_fail_loudly() -> None:
    with pytest.raises(ProgramError, match="cannot run offline"):
        record(lambda: aws.ec2.get_vpc(default=True), config={"aws:region": "eu-west-1"})


def test_only_aws_managed_prefix_lists_have_a_preview_answer() -> None:
    found: dict[str, object] = {}

    def lookup() -> None:
        cloudfront = aws.ec2.get_managed_prefix_list(name="com.amazonaws.global.cloudfront.origin-facing")
        found.update(id=cloudfront.id, entries=cloudfront.max_entries)

    record(lookup, config={"aws:region": "eu-west-1"})
    assert str(found["id"]).startswith("pl-") and found["entries"] == 55
    with pytest.raises(ProgramError, match="only AWS-managed lists"):
        record(lambda: aws.ec2.get_managed_prefix_list(name="my-office"), config={"aws:region": "eu-west-1"})


def test_duplicate_urns_are_rejected_like_the_engine() -> None:
    def duplicate() -> None:
        aws.s3.Bucket("same")
        aws.s3.Bucket("same")

    with pytest.raises(ProgramError, match="Duplicate resource URN"):
        record(duplicate, config={"aws:region": "eu-west-1"})


# A program stopped early, then the next run in the same process and a collection, as `paved preview --watch`
# runs (watch._settle collects between runs): asyncio reports what the stopped run left behind when it is
# collected. In a process of its own, so that the reports reach stderr rather than pytest's log capture.
STOPPED_THEN_NEXT_RUN = """
import asyncio, gc, sys
import pulumi
from paved.program import ProgramError, record

how = sys.argv[1]

def refuse_broken(resource):
    # As PackJudging.registered refuses registrations once the pack has refused its config.
    if resource.name == "broken":
        raise RuntimeError("refused")

def program():
    # An input still being computed when the program is stopped.
    slow = pulumi.Output.from_input(1).apply(lambda size: asyncio.sleep(60, result=size))
    pulumi.CustomResource("test:index:Thing", "waiting", {"size": slow})
    size = pulumi.Output.from_input(1).apply(lambda size: size / 0) if how == "raises" else 1
    pulumi.CustomResource("test:index:Thing", "broken", {"size": size})

try:
    record(program, on_register=refuse_broken if how == "refused" else None)
except ProgramError as error:
    print("stopped:", error)
record(lambda: pulumi.CustomResource("test:index:Thing", "next", {"size": 1}))
gc.collect()
"""


@pytest.mark.parametrize(("how", "said"), [("refused", "refused"), ("raises", "division by zero")])
def test_a_program_stopped_early_leaves_no_asyncio_reports_on_stderr(how: str, said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STOPPED_THEN_NEXT_RUN, how], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout == f"stopped: {said}\n", done.stderr
    reports = ("Task was destroyed but it is pending", "exception was never retrieved")
    assert [line for line in done.stderr.splitlines() if any(r in line for r in reports)] == [], done.stderr


def _line(text: str) -> int:
    [number] = [
        n for n, line in enumerate((SAMPLE / "__main__.py").read_text().splitlines(), 1) if text in line
    ]
    return number


def test_source_positions_are_kept_as_the_engine_keeps_them(sample: Recording) -> None:
    # project:///<path from the project directory>#<line> of the call that registered the resource.
    untagged = sample.one("aws:s3/bucket:Bucket", "untagged")
    assert untagged.source_position == f"project:///__main__.py#{_line('untagged = aws.s3.Bucket(')}"
    assert (
        sample.one("aws:ec2/vpc:Vpc").source_position == f"project:///__main__.py#{_line('self.vpc = aws')}"
    )
    # A default provider is the engine's, registered by no program line.
    assert sample.by_urn()[DEFAULT_AWS].source_position == ""


@pytest.mark.parametrize(
    ("uri", "line", "column", "expected"),
    [
        ("file:///work/app/infra/main.py", 7, 0, "project:///infra/main.py#7"),
        ("file:///work/app/main.py", 7, 3, "project:///main.py#7,3"),
        ("file:///work/app/my%20dir/a.py", 1, 0, "project:///my%20dir/a.py#1"),
        ("file:///work/lib/x.py", 2, 0, "project:///../lib/x.py#2"),
        ("file:///work/app/main.py", 0, 0, ""),
        ("https://example.com/main.py", 3, 0, ""),
        ("file:///work/app/main.py", 3, -1, ""),
        ("file:relative.py", 3, 0, ""),
    ],
)
def test_a_source_position_is_relative_to_the_project_or_none(
    uri: str, line: int, column: int, expected: str
) -> None:
    position = source_pb2.SourcePosition(uri=uri, line=line, column=column)
    assert source_position(position, "/work/app") == expected
