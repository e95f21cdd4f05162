"""What exists once per AWS account and region: the GitHub OIDC provider and the ECR registry's own settings
(scanning, replication and the templates replicated repositories are created from).

Two app stacks that both declared one of these would overwrite each other's, so only the bootstrap
program (bootstrap/, applied once per account) declares them (docs/delivery.md).
"""

from collections.abc import Mapping
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.iam import service_role
from components.kms import account_key
from components.registry import lifecycle_policy
from paved.errors import Hint
from paved.fields import ConfigModel, Region, matching

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
# The audience aws-actions/configure-aws-credentials asks GitHub for. AWS no longer uses a thumbprint for
# GitHub's provider: it trusts the certificate authorities it keeps.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
GITHUB_AUDIENCE = "sts.amazonaws.com"
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
        statements = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": list(_TEMPLATE_ROLE_ACTIONS), "Resource": "*"},
                    {"Effect": "Allow", "Action": list(_TEMPLATE_KEY_ACTIONS), "Resource": key.key_arn},
                ],
            }
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

    def __init__(
        self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("paved:account:GithubOidcProvider", name, None, opts)
        provider = aws.iam.OpenIdConnectProvider(
            name,
            url=GITHUB_OIDC_URL,
            client_id_lists=[GITHUB_AUDIENCE],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = provider.arn
        self.register_outputs({"arn": self.arn})
