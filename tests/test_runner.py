"""The in-VPC deploy runners (components/runner.py), declared by the bootstrap program: read as the engine
records their inputs. The facts are cited in docs/aws-facts/delivery.md (part 3, section 4)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from components.runner import RUNNER_IMAGE, runner_project_name
from paved.bootstrap_config import load_bootstrap_config
from paved.config import load_stack_config
from paved.errors import ConfigError
from paved.program import run_project
from paved.recorder import Recording

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "bootstrap"
SHIPPED = yaml.safe_load((BOOTSTRAP / "stacks" / "Pulumi.main.yaml").read_text())["config"]
RUNNERS = SHIPPED["paved:runners"]
PROJECT = "aws:codebuild/project:Project"


@pytest.fixture(scope="module")
def bootstrap() -> Recording:
    return run_project(BOOTSTRAP, "main")


def _named(recording: Recording, type_: str, name: str) -> Any:
    [resource] = [r for r in recording.of_type(type_) if r.name == name]
    return resource


def _statements(policy: Any) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_each_listed_environment_gets_a_runner_in_its_own_vpc(bootstrap: Recording) -> None:
    projects = {p.inputs["name"]: p for p in bootstrap.of_type(PROJECT)}
    assert sorted(projects) == sorted(runner_project_name(env) for env in RUNNERS)
    for environment, runner in RUNNERS.items():
        name = runner_project_name(environment)
        project = projects[name]
        group = _named(bootstrap, "aws:ec2/securityGroup:SecurityGroup", name)
        assert group.inputs["vpcId"] == runner["vpcId"]
        vpc = project.inputs["vpcConfig"]
        assert (vpc["vpcId"], vpc["subnets"]) == (runner["vpcId"], runner["subnetIds"])
        assert project.property_dependencies["vpcConfig"] == [group.urn]
        # The label the workflows' runs-on names: codebuild-<project>-<run id>-<attempt>.
        assert project.inputs["environment"]["computeType"] == runner.get(
            "computeType", "BUILD_GENERAL1_MEDIUM"
        )


def test_no_runner_is_declared_for_an_account_that_lists_none() -> None:
    recording = run_project(BOOTSTRAP, "main", config_overrides={**SHIPPED, "paved:runners": {}})
    for type_ in (
        PROJECT,
        "aws:codebuild/webhook:Webhook",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:cloudwatch/logGroup:LogGroup",
    ):
        # The runners' own: the bootstrap has other log groups (Application Signals').
        assert [r for r in recording.of_type(type_) if "paved:runner:DeployRunners" in r.urn] == [], type_
    # The runners' logs key exists with runners only.
    assert "runners-logs" not in [k.name for k in recording.of_type("paved:kms:KmsKey")]
    # The connection is there from the first `up`: its handshake is completed by hand before any runner.
    [connection] = recording.of_type("aws:codeconnections/connection:Connection")
    assert connection.inputs["providerType"] == "GitHub"


def test_the_runner_reads_the_repository_through_the_connection_and_builds_nothing(
    bootstrap: Recording,
) -> None:
    project = _named(bootstrap, PROJECT, runner_project_name("prod"))
    [connection] = bootstrap.of_type("aws:codeconnections/connection:Connection")
    source = project.inputs["source"]
    assert (source["type"], source["location"]) == ("GITHUB", "https://github.com/acme/infra.git")
    assert source["auth"]["type"] == "CODECONNECTIONS"
    assert connection.urn in project.property_dependencies["source"]
    assert project.inputs["artifacts"] == {"type": "NO_ARTIFACTS"}
    environment = project.inputs["environment"]
    assert (environment["type"], environment["image"]) == ("LINUX_CONTAINER", RUNNER_IMAGE)
    assert environment["privilegedMode"] is False


def test_a_build_starts_for_each_queued_workflow_job(bootstrap: Recording) -> None:
    for environment in RUNNERS:
        name = runner_project_name(environment)
        webhook = _named(bootstrap, "aws:codebuild/webhook:Webhook", name)
        assert webhook.inputs["projectName"] == name
        assert _named(bootstrap, PROJECT, name).urn in webhook.property_dependencies["projectName"]
        assert webhook.inputs["buildType"] == "BUILD"
        assert webhook.inputs["filterGroups"] == [
            {"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}
        ]


def test_the_runner_accepts_no_connection_and_reaches_out_on_https_only(bootstrap: Recording) -> None:
    group = _named(bootstrap, "aws:ec2/securityGroup:SecurityGroup", runner_project_name("prod"))
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    ingress = [
        r
        for r in bootstrap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if group.urn in r.property_dependencies.get("securityGroupId", [])
    ]
    assert ingress == []
    [egress] = [
        r
        for r in bootstrap.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if group.urn in r.property_dependencies.get("securityGroupId", [])
    ]
    assert {k: egress.inputs[k] for k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4")} == {
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrIpv4": "0.0.0.0/0",
    }


def test_the_runners_logs_are_kept_encrypted_and_protected(bootstrap: Recording) -> None:
    name = runner_project_name("prod")
    project = _named(bootstrap, PROJECT, name)
    group = _named(bootstrap, "aws:cloudwatch/logGroup:LogGroup", name)
    assert group.inputs["name"] == f"/aws/codebuild/{name}"
    assert project.inputs["logsConfig"] == {
        "cloudwatchLogs": {"status": "ENABLED", "groupName": f"/aws/codebuild/{name}"},
        "s3Logs": {"status": "DISABLED"},
    }
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["deletionProtectionEnabled"] is True and group.protect
    key = _named(bootstrap, "aws:kms/key:Key", "runners-logs")
    assert group.property_dependencies["kmsKeyId"] == [key.urn] and key.protect
    principals = [s["Principal"] for s in json.loads(key.inputs["policy"])["Statement"]]
    assert {"Service": ["logs.eu-west-1.amazonaws.com"]} in principals


def test_only_codebuild_assumes_the_runners_role_for_this_project(bootstrap: Recording) -> None:
    name = runner_project_name("prod")
    role = _named(bootstrap, "aws:iam/role:Role", name)
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    account = bootstrap.place.account
    assert statement["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:codebuild:eu-west-1:{account}:project/{name}"},
    }


def test_the_runners_role_makes_interfaces_in_its_subnets_and_writes_its_logs_only(
    bootstrap: Recording,
) -> None:
    # Jobs on the runner hold this role's credentials: it grants what CodeBuild needs, and no more.
    name = runner_project_name("prod")
    account = bootstrap.place.account
    statements = _statements(_named(bootstrap, "aws:iam/rolePolicy:RolePolicy", name))
    assert set(statements) == {"BuildNetworkInterfaces", "BuildNetworkInterfacePermission", "BuildLogs"}
    permission = statements["BuildNetworkInterfacePermission"]
    assert permission["Condition"] == {
        "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
        "ArnEquals": {
            "ec2:Subnet": [
                f"arn:aws:ec2:eu-west-1:{account}:subnet/{subnet}" for subnet in RUNNERS["prod"]["subnetIds"]
            ]
        },
    }
    assert statements["BuildLogs"]["Resource"] == (
        f"arn:aws:logs:eu-west-1:{account}:log-group:/aws/codebuild/{name}:*"
    )
    assert not any(a.startswith(("iam:", "sts:", "eks:")) for s in statements.values() for a in s["Action"])
    connection_use = _named(bootstrap, "aws:iam/rolePolicy:RolePolicy", f"{name}-connection")
    [connection] = bootstrap.of_type("aws:codeconnections/connection:Connection")
    assert connection.urn in connection_use.property_dependencies["policy"]


def test_the_project_waits_for_its_roles_permissions(bootstrap: Recording) -> None:
    # CodeBuild checks the role's EC2 permissions when it creates a project in a VPC (aws-cdk#2662).
    name = runner_project_name("prod")
    project = _named(bootstrap, PROJECT, name)
    for policy in (name, f"{name}-connection"):
        assert _named(bootstrap, "aws:iam/rolePolicy:RolePolicy", policy).urn in project.dependencies


def test_every_stack_names_its_runner_as_the_deployer_its_cluster_admits() -> None:
    # paved refuses an API endpoint open to every address, so GitHub's hosted runners reach no paved
    # cluster: each app stack that deploys from GitHub gets a runner, and admits its security group.
    for environment in RUNNERS:
        raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{environment}.yaml").read_text())["config"]
        config = load_stack_config(raw, environment)
        assert config.cluster.deployer.security_group_ids, environment
        assert "0.0.0.0/0" not in config.cluster.public_access_cidrs
    assert sorted(RUNNERS) == sorted(SHIPPED["paved:github"]["environments"])


def test_runner_project_names_are_ones_codebuild_takes() -> None:
    shape = botocore.session.get_session().get_service_model("codebuild").shape_for("ProjectName")
    for environment in ("staging", "prod", "qa_2", "eu-1"):
        name = runner_project_name(environment)
        assert re.fullmatch(shape.metadata["pattern"], name) and len(name) <= shape.metadata["max"]


@pytest.mark.parametrize(
    ("runners", "paths"),
    [
        ({"qa": RUNNERS["prod"]}, ["paved:runners.qa"]),
        (
            {"prod": {"vpcId": "vpc-1", "subnetIds": [], "computeType": "BUILD_GENERAL2_HUGE"}},
            ["paved:runners.prod.vpcId", "paved:runners.prod.subnetIds", "paved:runners.prod.computeType"],
        ),
        ({"prod": {**RUNNERS["prod"], "logRetentionDays": 100}}, ["paved:runners.prod.logRetentionDays"]),
        (["prod"], ["paved:runners"]),
    ],
)
def test_bad_runner_config_is_one_error_listing_every_problem(runners: Any, paths: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_config({**SHIPPED, "paved:runners": runners}, "main")
    assert [problem.path for problem in caught.value.problems] == paths
    assert all(problem.hint for problem in caught.value.problems)


def test_an_environment_codebuild_cannot_name_a_project_after_is_refused() -> None:
    github = {**SHIPPED["paved:github"], "environments": ["prod", "prod.eu"]}
    raw = {**SHIPPED, "paved:github": github, "paved:runners": {"prod.eu": RUNNERS["prod"]}}
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_config(raw, "main")
    assert [problem.path for problem in caught.value.problems] == ["paved:runners.prod.eu"]
