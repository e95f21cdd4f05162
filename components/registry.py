"""ECR: one private repository per app, tags immutable, encrypted with the stack's data key, and a lifecycle
policy that keeps the releases a rollback can return to.

Scanning and replication are registry-wide settings, one per account and region: the bootstrap program
owns them (docs/delivery.md), not the app stacks, which would fight over them. The repository-level
`scanOnPush` flag is deprecated in favour of the registry's scanning configuration.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html
"""

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.kms import aws_context
from paved.errors import Hint
from paved.fields import ConfigModel
from paved.images import own_repository, repository_name

# The newest N tagged images are kept; an untagged one (tags are immutable, so a build pushed by digest)
# goes after a day. Images a manifest list references (the per-platform images of a multi-arch build) are
# never expired while the list exists.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
UNTAGGED_EXPIRE_DAYS = 1


class RegistryArgs(ConfigModel):
    keep_releases: Annotated[
        int,
        Field(ge=2, le=1000),
        Hint(
            "how many tagged images each app's repository keeps, 2 to 1000: the running release and the one "
            "`paved rollback` returns to are the newest two"
        ),
    ]
    # `paved images check` blocks a release whose image has a finding at or above this severity.
    block_severity: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]


def lifecycle_policy(keep_releases: int) -> str:
    rules = [
        {
            "rulePriority": 1,
            "description": f"Untagged images go after {UNTAGGED_EXPIRE_DAYS} day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_EXPIRE_DAYS,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the newest {keep_releases} releases",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep_releases,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules})


class Registry(pulumi.ComponentResource):
    """The apps' repositories: `repository_urls` by app name."""

    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: RegistryArgs,
        *,
        apps: Sequence[str],
        kms_key_arn: pulumi.Input[str],
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:registry:Registry", name, None, opts)
        self.repository_urls = {}
        self._apps = list(apps)
        self._registry_host = self._host()
        policy = lifecycle_policy(args.keep_releases)
        for app in apps:
            repository = aws.ecr.Repository(
                f"{name}-{app}",
                name=repository_name(pulumi.get_project(), pulumi.get_stack(), app),
                image_tag_mutability="IMMUTABLE",
                # The encryption can't be changed after creation. Pushes and pulls need no permission on the
                # key: ECR encrypts and decrypts through the grant it creates on the key with the repository.
                # https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=kms_key_arn)
                ],
                # A repository with images in it is never deleted with the stack.
                force_delete=False,
                tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{app}",
                repository=repository.name,
                policy=policy,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.repository_urls[app] = repository.repository_url
        self.register_outputs({"repository_urls": self.repository_urls})

    def _host(self) -> pulumi.Output[str]:
        # Known in preview, unlike the repositories' computed URLs: the account and region come from
        # invokes. Config refuses partitions other than `aws`, whose registries are under amazonaws.com.
        context = aws_context(pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat(context.account, ".dkr.ecr.", context.region, ".amazonaws.com")

    def image(self, image: str) -> pulumi.Input[str]:
        """The image an app runs: `image` as written, or for `<app>:<tag>` that app's repository here."""
        own = own_repository(image, self._apps)
        if own is None:
            return image
        app, reference = own
        name = repository_name(pulumi.get_project(), pulumi.get_stack(), app)
        return pulumi.Output.concat(self._registry_host, "/", name, reference)
