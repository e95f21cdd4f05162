"""The in-VPC deploy runners: per environment, a CodeBuild project that GitHub Actions jobs reach by label,
`codebuild-paved-runner-<env>-${{ github.run_id }}-${{ github.run_attempt }}`, inside the app stack's VPC
so that `up` reaches its cluster's private API endpoint.

They belong to the bootstrap program, not to the stack they deploy: an `up` must never replace its own
runner's subnets or security group. The facts this rests on, with their sources, are in
docs/aws-facts/delivery.md (part 3, section 4) and docs/aws-facts/runner.md.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field

from components.iam import policy_document, service_role
from components.kms import aws_context, logs_key
from components.logs import log_group
from components.security_groups import https_out_security_group
from paved.errors import Hint
from paved.fields import ConfigModel, LogRetention, distinct, matching

# CodeBuild's managed Amazon Linux image: it carries Python 3, Node.js, Docker's CLI, git and the AWS CLI
# (`aws eks get-token` signs the kubeconfig's token), which the workflows' steps use.
# https://docs.aws.amazon.com/codebuild/latest/userguide/ec2-compute-images.html
RUNNER_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
# A runner job is a GitHub Actions job: the workflow's own timeout-minutes ends it first (up.yml: 120).
_BUILD_TIMEOUT_MINUTES = 180
# What CodeBuild does with the project's connection: fetch the repository's token for the runner
# (AWS's CodeBuild guide names the first two); CreateProject also checks UseConnection with the role
# (aws-cdk#38504). docs/aws-facts/runner.md, section 1.
CONNECTION_ACTIONS = (
    "codeconnections:GetConnectionToken",
    "codeconnections:GetConnection",
    "codeconnections:UseConnection",
)


def runner_project_name(environment: str) -> str:
    """The CodeBuild project, and so the label the workflows' `runs-on` names (`codebuild-<project>-...`)."""
    return f"paved-runner-{environment}"


class RunnerArgs(ConfigModel):
    """Where one environment's runner runs: the app stack's VPC and private subnets (with NAT)."""

    vpc_id: Annotated[
        str,
        matching(
            r"vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?",
            "a VPC ID",
            "the stack's network_vpc_id output, e.g. vpc-0123...",
        ),
    ]
    subnet_ids: Annotated[
        list[
            Annotated[
                str,
                matching(
                    r"subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?",
                    "a subnet ID",
                    "the stack's network_private_subnet_ids output: private subnets with a NAT route",
                ),
            ]
        ],
        Field(min_length=1, max_length=16),
        AfterValidator(distinct),
    ]
    compute_type: Annotated[
        Literal["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"],
        Hint("SMALL: 2 vCPU, 3 GB; MEDIUM: 4 vCPU, 7 GB; LARGE: 8 vCPU, 15 GB"),
    ] = "BUILD_GENERAL1_MEDIUM"
    log_retention_days: LogRetention = 365


class DeployRunners(pulumi.ComponentResource):
    """A runner per environment of `runners`, and what they share: the connection CodeBuild reads the
    repository through (declared without runners too: its handshake is completed by hand before the first
    runner's webhook can be made), and the key their log groups are encrypted with.

    `security_group_ids` (by environment) is what each app stack's `paved:cluster.deployer` admits.
    """

    connection_arn: pulumi.Output[str]
    project_names: dict[str, str]
    security_group_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        runners: Mapping[str, RunnerArgs],
        *,
        repository: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:runner:DeployRunners", name, None, opts)
        # A GitHub App connection, PENDING until an administrator completes its handshake in the console
        # (docs/delivery.md). Per project (source.auth), so the account's one CodeBuild credential for
        # GitHub is left to whoever else uses it.
        connection = aws.codeconnections.Connection(
            name,
            name="paved-github",
            provider_type="GitHub",
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.connection_arn = connection.arn
        self.project_names = {}
        self.security_group_ids = {}
        if runners:
            # The runners' logs are the record of every deploy: kept, and the key that reads them with them.
            key = logs_key(f"{name}-logs", tags=tags, opts=pulumi.ResourceOptions(parent=self, protect=True))
            for environment, args in runners.items():
                group = self._runner(environment, args, repository, connection, key.key_arn, tags)
                self.project_names[environment] = runner_project_name(environment)
                self.security_group_ids[environment] = group
        self.register_outputs(
            {
                "connection_arn": self.connection_arn,
                "project_names": self.project_names,
                "security_group_ids": self.security_group_ids,
            }
        )

    def _runner(
        self,
        environment: str,
        args: RunnerArgs,
        repository: str,
        connection: aws.codeconnections.Connection,
        key_arn: pulumi.Output[str],
        tags: Mapping[str, str],
    ) -> pulumi.Output[str]:
        project_name = runner_project_name(environment)
        here = pulumi.ResourceOptions(parent=self)
        context = aws_context(here)
        # The app stack's deployer rule names this group: keep its description as it is. GitHub, the AWS
        # APIs, the Helm chart repositories and package registries are all HTTPS, at addresses no list keeps
        # (README, "Deploying to a private cluster"). Nothing connects in: the runner polls.
        group = https_out_security_group(
            project_name,
            vpc_id=args.vpc_id,
            description=f"paved deploy runner of {environment}: no inbound, HTTPS out",
            egress_description="HTTPS to GitHub, AWS and package registries",
            tags=tags,
            parent=self,
        )
        log_group_name = f"/aws/codebuild/{project_name}"
        logs = log_group(
            project_name,
            name=log_group_name,
            kms_key_arn=key_arn,
            retention_days=args.log_retention_days,
            protect=True,
            tags=tags,
            parent=self,
        )
        subnet_arns = [
            pulumi.Output.format("arn:{0}:ec2:{1}:{2}:subnet/{3}", *context, subnet)
            for subnet in args.subnet_ids
        ]
        role = service_role(
            project_name,
            service="codebuild.amazonaws.com",
            description=f"CodeBuild runs the {environment} deploy runner; its jobs assume their own roles",
            inline_policy=policy_document(
                # CodeBuild creates the build's network interface in the VPC itself: the Describe calls and
                # the interface's creation and deletion take no resource narrower than "*".
                # https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html#customer-managed-policies-example-create-vpc-network-interface
                {
                    "Sid": "BuildNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeVpcs",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "BuildNetworkInterfacePermission",
                    "Effect": "Allow",
                    "Action": "ec2:CreateNetworkInterfacePermission",
                    "Resource": pulumi.Output.format("arn:{0}:ec2:{1}:{2}:network-interface/*", *context),
                    "Condition": {
                        "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                        "ArnEquals": {"ec2:Subnet": subnet_arns},
                    },
                },
                {
                    "Sid": "BuildLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    # Built, not read off the group: known in a preview, so the pack judges the document.
                    "Resource": pulumi.Output.format(
                        "arn:{0}:logs:{1}:{2}:log-group:{3}:*", *context, log_group_name
                    ),
                },
            ),
            source_arn=pulumi.Output.format("arn:{0}:codebuild:{1}:{2}:project/{3}", *context, project_name),
            tags=tags,
            parent=self,
        )
        # Apart from the role's other permissions: the connection's ARN is known only once it exists.
        connection_use = aws.iam.RolePolicy(
            f"{project_name}-connection",
            role=role.role.id,
            policy=policy_document(
                {
                    "Sid": "RepositoryConnection",
                    "Effect": "Allow",
                    "Action": list(CONNECTION_ACTIONS),
                    "Resource": connection.arn,
                }
            ),
            opts=here,
        )
        project = aws.codebuild.Project(
            project_name,
            name=project_name,
            description=f"paved: the GitHub Actions runner that deploys {environment}, inside its VPC",
            service_role=role.arn,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=f"https://github.com/{repository}.git",
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=connection.arn),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=args.compute_type,
                image=RUNNER_IMAGE,
                image_pull_credentials_type="CODEBUILD",
                # No Docker daemon: the deploy builds no images (the apps' own pipelines do).
                privileged_mode=False,
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args.vpc_id, subnets=list(args.subnet_ids), security_group_ids=[group.id]
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=logs.name
                ),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
            ),
            build_timeout=_BUILD_TIMEOUT_MINUTES,
            tags=dict(tags),
            # CodeBuild checks the role's EC2 permissions when it creates a project in a VPC.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*role.ready, connection_use, logs]),
        )
        aws.codebuild.Webhook(
            project_name,
            project_name=project.name,
            build_type="BUILD",
            # A build per queued job: CodeBuild starts one when the job's label names this project.
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[
                        aws.codebuild.WebhookFilterGroupFilterArgs(
                            type="EVENT", pattern="WORKFLOW_JOB_QUEUED"
                        )
                    ]
                )
            ],
            opts=here,
        )
        return group.id
