"""What exists once per AWS account and region: the GitHub OIDC provider and the ECR registry's own settings
(scanning, replication and the templates replicated repositories are created from).

Two app stacks that both declared one of these would overwrite each other's, so only the bootstrap
program (bootstrap/, applied once per account) declares them (docs/delivery.md).
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field

from components.exemptions import exemption_tags
from components.iam import (
    GITHUB_AUDIENCE,
    GITHUB_OIDC_HOST,
    GrantedRole,
    github_actions_role,
    policy_document,
    service_role,
)
from components.kms import account_key, aws_context
from components.registry import lifecycle_policy
from paved.errors import Hint
from paved.fields import ConfigModel, Region, distinct, matching

# AWS no longer uses a thumbprint for GitHub's provider: it trusts the certificate authorities it keeps.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
# One WILDCARD filter matching every repository of the registry.
_EVERY_REPOSITORY = [
    aws.ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs(filter="*", filter_type="WILDCARD")
]
# The actions ECR takes with a template's role to create a replicated repository encrypted with the key.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html
_TEMPLATE_ROLE_ACTIONS = ("ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource")
_TEMPLATE_KEY_ACTIONS = ("kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey")


class Replication(ConfigModel):
    """The repositories of one app stack (`<project>-<stack>/...`), copied to a second region."""

    prefix: Annotated[
        str,
        matching(
            r"[a-z0-9]+(?:[._-][a-z0-9]+)*", "a repository name prefix", "e.g. paved-prod: <project>-<stack>"
        ),
    ]
    region: Region
    keep_releases: Annotated[
        int, Field(ge=2, le=1000), Hint("as paved:registry.keepReleases of the stack")
    ] = 30


class RegistrySettingsArgs(ConfigModel):
    scanning: Annotated[
        Literal["basic", "enhanced"],
        Hint("basic: ECR scans each image on push (OS packages); enhanced: Amazon Inspector, continuously"),
    ]
    replicate: Annotated[list[Replication], Field(max_length=10)] = []


class RegistrySettings(pulumi.ComponentResource):
    """The registry's scanning configuration, and per replicated stack a replication rule and, in the
    destination region, a creation template with a key of that region, so that replicated repositories are
    made as the source ones: tags immutable, KMS-encrypted, with their lifecycle policy."""

    def __init__(
        self,
        name: str,
        args: RegistrySettingsArgs,
        *,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:account:RegistrySettings", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        enhanced = args.scanning == "enhanced"
        aws.ecr.RegistryScanningConfiguration(
            name,
            scan_type="ENHANCED" if enhanced else "BASIC",
            rules=[
                aws.ecr.RegistryScanningConfigurationRuleArgs(
                    scan_frequency="CONTINUOUS_SCAN" if enhanced else "SCAN_ON_PUSH",
                    repository_filters=_EVERY_REPOSITORY,
                )
            ],
            opts=here,
        )
        if not args.replicate:
            self.register_outputs({})
            return
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        templates = [self._template(name, replication, tags) for replication in args.replicate]
        aws.ecr.ReplicationConfiguration(
            name,
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                rules=[
                    aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                        destinations=[
                            aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                region=replication.region, registry_id=account
                            )
                        ],
                        # A trailing `/`: `paved-prod` alone would also match `paved-prod-other/...`.
                        repository_filters=[
                            aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                filter=f"{replication.prefix}/", filter_type="PREFIX_MATCH"
                            )
                        ],
                    )
                    for replication in args.replicate
                ]
            ),
            # A template applies only to repositories created after it: it exists before the first copy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=templates),
        )
        self.register_outputs({})

    def _template(self, name: str, replication: Replication, tags: Mapping[str, str]) -> pulumi.Resource:
        label = f"{name}-{replication.prefix}-{replication.region}"
        provider = aws.Provider(label, region=replication.region, opts=pulumi.ResourceOptions(parent=self))
        # It encrypts the copies of a stack's images: deleting it would lose them.
        key = account_key(
            label,
            purpose=f"ECR repositories replicated from {replication.prefix}",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=True),
        )
        # The replicated repositories are named by the pushes, not here: ECR's sample grants them on "*".
        statements = policy_document(
            {"Effect": "Allow", "Action": list(_TEMPLATE_ROLE_ACTIONS), "Resource": "*"},
            {"Effect": "Allow", "Action": list(_TEMPLATE_KEY_ACTIONS), "Resource": key.key_arn},
        )
        role = service_role(
            f"{label}-template",
            service="ecr.amazonaws.com",
            description=f"ECR creates repositories replicated from {replication.prefix} with it",
            inline_policy=statements,
            # ECR's documented trust policy for this role has no condition.
            # https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates-create-iam.html
            source_account_guard=False,
            tags=tags,
            parent=self,
        )
        return aws.ecr.RepositoryCreationTemplate(
            label,
            prefix=replication.prefix,
            applied_fors=["REPLICATION"],
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[
                aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=key.key_arn
                )
            ],
            lifecycle_policy=lifecycle_policy(replication.keep_releases),
            # Required with a customer managed key or tags, or ECR fails the repository's creation.
            custom_role_arn=role.arn,
            resource_tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=role.ready),
        )


class GithubOidcProvider(pulumi.ComponentResource):
    """GitHub Actions' OIDC identity provider: one per account, whatever the number of repositories."""

    arn: pulumi.Output[str]
    # The same ARN, built from the account (known in a preview, unlike the provider's own output), for
    # trust policies the policy pack can judge before anything exists; `resource` is what they wait for.
    known_arn: pulumi.Output[str]
    resource: aws.iam.OpenIdConnectProvider

    def __init__(
        self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("paved:account:GithubOidcProvider", name, None, opts)
        context = aws_context(pulumi.ResourceOptions(parent=self))
        self.known_arn = pulumi.Output.concat(
            "arn:",
            context.partition,
            ":iam::",
            context.account,
            ":oidc-provider/",
            GITHUB_OIDC_HOST,
        )
        provider = aws.iam.OpenIdConnectProvider(
            name,
            url=GITHUB_OIDC_URL,
            client_id_lists=[GITHUB_AUDIENCE],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = provider.arn
        self.resource = provider
        self.register_outputs({"arn": self.arn})


class GithubArgs(ConfigModel):
    """The repository whose workflows deploy, and the Pulumi state they read and write."""

    repository: Annotated[
        str,
        matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "a GitHub repository", "owner/name, e.g. acme/infra"),
    ]
    # GitHub environments, named as the stacks they deploy: each gets a deploy role.
    environments: Annotated[
        list[
            Annotated[
                str, matching(r"[A-Za-z0-9_.-]{1,40}", "an environment name", "the stack's name, e.g. prod")
            ]
        ],
        Field(min_length=1),
        AfterValidator(distinct),
    ] = ["staging", "prod"]
    state_bucket: Annotated[
        str,
        matching(
            r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            "an S3 bucket name",
            "the bucket of PULUMI_BACKEND_URL=s3://<bucket>",
        ),
    ]
    state_key_arn: Annotated[
        str,
        matching(
            r"arn:aws:kms:[a-z0-9-]+:\d{12}:key/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})",
            "a KMS key ARN",
            "the key of the stacks' secrets provider, awskms://<key id>; its ARN, not an alias",
        ),
    ]


# What a preview of a stack reads of its state (the diy backend's Preview takes no lock and writes nothing):
# the bucket's listing (without it a missing file is a 403, not the 404 Pulumi takes for "absent"), its
# files under .pulumi/, and the secrets provider's data key (kms:Decrypt on the key's ARN).
# docs/aws-facts/delivery.md, part 3.
def _state_read(bucket: str, key_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "StateList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "StateRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/.pulumi/*",
        },
        {"Sid": "StateSecrets", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
    ]


# The values of the secrets paved's stacks declare (tagged managed-by: paved), and the keys that encrypt
# them, only as Secrets Manager uses them: their ARNs are the app stacks', unknown here, and may be in the
# DR region too (replicas).
_SECRET_VALUES: list[dict[str, Any]] = [
    {
        "Sid": "StackSecretValues",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/managed-by": "paved"}},
    },
    {
        "Sid": "StackSecretKeys",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
    },
]


# An update takes the stack's lock and writes its checkpoint, its backup and its history.
def _state_write(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "StateWrite",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:DeleteObject"],
        "Resource": [
            f"arn:aws:s3:::{bucket}/.pulumi/{part}/*" for part in ("locks", "stacks", "history", "backups")
        ],
    }


class GithubRoles(pulumi.ComponentResource):
    """The roles GitHub Actions jobs of one repository assume: `preview_role_arn` for pull requests and
    the nightly drift check (read-only), `deploy_role_arns` by environment for `up`."""

    preview_role_arn: pulumi.Output[str]
    deploy_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: GithubArgs,
        *,
        provider: GithubOidcProvider,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:account:GithubRoles", name, None, opts)
        preview = github_actions_role(
            f"{name}-preview",
            role_name="paved-github-preview",
            provider=provider.known_arn,
            provider_resource=provider.resource,
            repository=args.repository,
            subjects=["pull_request", "ref:refs/heads/main"],
            # `pulumi preview --refresh` reads every attribute of every resource of the stacks, in some twenty
            # services; AWS keeps ReadOnlyAccess current with them. It leaves out secret values, which a
            # refresh of each SecretVersion reads: _SECRET_VALUES adds paved's.
            managed_policy_arns=["iam::aws:policy/ReadOnlyAccess"],
            inline_policy=policy_document(*_state_read(args.state_bucket, args.state_key_arn)),
            tags=tags,
            parent=self,
        )
        self._secret_values(f"{name}-preview", preview, tags)
        self.preview_role_arn = preview.arn
        self.deploy_role_arns = {}
        for environment in args.environments:
            deploy = github_actions_role(
                f"{name}-deploy-{environment}",
                role_name=f"paved-github-deploy-{environment}",
                provider=provider.known_arn,
                provider_resource=provider.resource,
                repository=args.repository,
                subjects=[f"environment:{environment}"],
                # `up` creates, changes and deletes the resources of some twenty services (docs/delivery.md
                # lists them), and the roles they act with: PowerUserAccess (every service but IAM and
                # Organizations) and IAMFullAccess. With both it can grant itself anything in the account:
                # the environment's required reviewers and the trust in that environment alone are its guard.
                managed_policy_arns=["iam::aws:policy/PowerUserAccess", "iam::aws:policy/IAMFullAccess"],
                inline_policy=policy_document(
                    *_state_read(args.state_bucket, args.state_key_arn), _state_write(args.state_bucket)
                ),
                tags=tags,
                parent=self,
            )
            self.deploy_role_arns[environment] = deploy.arn
        self.register_outputs(
            {"preview_role_arn": self.preview_role_arn, "deploy_role_arns": self.deploy_role_arns}
        )

    def _secret_values(self, name: str, role: GrantedRole, tags: Mapping[str, str]) -> None:
        """What a refresh reads of each SecretVersion: a customer managed policy, whose tags can carry the
        exemption its key statement needs (an inline policy has no tags)."""
        exempt = exemption_tags(
            ["iam-policy-no-kms-decrypt-all-keys"],
            "The app stacks' secrets keys do not exist when the bootstrap runs: kms:ViaService confines "
            "decryption to Secrets Manager reading secrets tagged managed-by paved",
        )
        policy = aws.iam.Policy(
            f"{name}-secrets",
            description="Refreshing previews read the values of paved's stack secrets",
            policy=policy_document(*_SECRET_VALUES),
            tags={**tags, **exempt},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-secrets",
            role=role.role.name,
            policy_arn=policy.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
