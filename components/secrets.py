"""Keys and secrets: a customer managed KMS key per purpose, and Secrets Manager secrets kept in the account.

Keys: `logs` (CloudWatch Logs), `alerts` (the SNS topic), `data` (RDS, ElastiCache, AWS Backup) and `secrets`
(Secrets Manager); with a DR region, `data-dr` and `secrets-dr` there, because KMS keys never leave their
region and cross-region copies must be encrypted with a key of the destination region.

Secret values never pass through stack config: paved generates them (`random`, stored as Pulumi secrets), or
creates an empty secret for a human to fill. How each kind rotates:
- `generated`: raise its `version`; paved generates a new value and writes it with the write-only
  `secret_string_wo`, so the secret version's own state never holds it. A rotation Lambda does not apply:
  an app signing key (JWT) is not a credential of another system that a function could change on both sides.
- `external`: its owner puts and rotates the value (`aws secretsmanager put-secret-value`).
- `cacheUrl`: rebuilt by paved whenever the cache's AUTH token (`paved:cache.authTokenVersion`) or endpoint
  changes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field, StringConstraints

from components.kms import KmsKey, account_key, alerts_key, aws_context, logs_key
from paved.errors import Hint
from paved.fields import ConfigModel, Version


class SecretArgs(ConfigModel):
    """An app secret. paved never takes a value from config: it generates one, or leaves it to a human."""

    source: Literal["generated", "external", "cacheUrl"]
    length: Annotated[int, Field(ge=32, le=4096), Hint("generated secrets are 32 to 4096 characters")]
    version: Version
    description: Annotated[str, StringConstraints(max_length=2048)]


@dataclass(frozen=True)
class DrRegion:
    """The disaster-recovery region: its provider and the keys that encrypt copies made there."""

    name: str
    provider: aws.Provider
    data_key_arn: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]


class Keys(pulumi.ComponentResource):
    """The stack's KMS keys, one per purpose, protected in prod (a deleted key makes its data unreadable)."""

    logs: KmsKey
    alerts: KmsKey
    data: KmsKey
    secrets: KmsKey
    dr: DrRegion | None

    def __init__(
        self,
        name: str,
        *,
        dr_region: str | None,
        protect: bool,
        tags: Mapping[str, str],
        dr_network: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:secrets:Keys", name, None, opts)
        here = pulumi.ResourceOptions(parent=self, protect=protect)
        self.logs = logs_key("logs", tags=tags, opts=here)
        self.alerts = alerts_key("alerts", tags=tags, opts=here)
        self.data = account_key(
            "data", purpose="data at rest (RDS, ElastiCache, AWS Backup)", tags=tags, opts=here
        )
        self.secrets = account_key("secrets", purpose="Secrets Manager secrets", tags=tags, opts=here)
        self.dr = None
        if dr_region is not None:
            provider = aws.Provider("dr", region=dr_region, opts=pulumi.ResourceOptions(parent=self))
            there = pulumi.ResourceOptions(parent=self, provider=provider, protect=protect)
            copies = "cross-region backup copies (RDS, AWS Backup)"
            # A DR network logs its traffic with the key the copies use: the DR region gets no key of its
            # own for logs (one less key to keep, and the network only matters with the copies).
            data_dr = (
                logs_key("data-dr", purpose=copies, tags=tags, opts=there)
                if dr_network
                else account_key("data-dr", purpose=copies, tags=tags, opts=there)
            )
            secrets_dr = account_key("secrets-dr", purpose="Secrets Manager replicas", tags=tags, opts=there)
            self.dr = DrRegion(dr_region, provider, data_dr.key_arn, secrets_dr.key_arn)
        self.register_outputs(
            {
                "logs_key_arn": self.logs.key_arn,
                "alerts_key_arn": self.alerts.key_arn,
                "data_key_arn": self.data.key_arn,
                "secrets_key_arn": self.secrets.key_arn,
            }
        )


def account_only_policy(account: pulumi.Input[str]) -> pulumi.Output[str]:
    """A secret resource policy that denies every principal outside this account.

    AWS services acting with their own service principal are left to their own checks
    (aws:PrincipalIsAWSService), so replication and rotation keep working.
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
    """
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyOutsideAccount",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "secretsmanager:*",
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {"aws:PrincipalAccount": account},
                        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                    },
                }
            ],
        }
    )


ROTATION_TAG = "paved:rotation"
_ROTATION_BY_SOURCE = {
    "generated": "raise paved:secrets.{name}.version",
    "external": "its owner puts a new value",
    "cacheUrl": "follows paved:cache.authTokenVersion",
}


@dataclass(frozen=True)
class SecretPlacement:
    """Where a stack's secrets live and how they are kept: shared by every component that makes one."""

    kms_key_arn: pulumi.Input[str]
    dr: DrRegion | None
    recovery_window_days: int
    # A deleted secret stays restorable for the recovery window; `protect` (prod) stops Pulumi from
    # deleting or replacing it at all.
    protect: bool
    tags: Mapping[str, str]

    def secret(
        self, name: str, *, path: str, description: str, rotation: str, parent: pulumi.Resource
    ) -> aws.secretsmanager.Secret:
        """A secret `<stack>/<path>`: the secrets CMK, a DR-region replica with the DR key, account-only.

        `rotation` says how the value is rotated where no rotation function applies; it becomes the
        `paved:rotation` tag that the pack's secretsmanager-rotation policy reads.
        """
        replicas = (
            [aws.secretsmanager.SecretReplicaArgs(region=self.dr.name, kms_key_id=self.dr.secrets_key_arn)]
            if self.dr
            else None
        )
        return aws.secretsmanager.Secret(
            name,
            name=secret_name(path),
            description=description,
            kms_key_id=self.kms_key_arn,
            recovery_window_in_days=self.recovery_window_days,
            replicas=replicas,
            policy=account_only_policy(aws_context(pulumi.ResourceOptions(parent=parent)).account),
            tags={**self.tags, ROTATION_TAG: rotation},
            opts=pulumi.ResourceOptions(parent=parent, protect=self.protect),
        )


def secret_resource_name(env_name: str) -> str:
    """The resource name (and URN) of an app secret: two names that give the same one can't both exist."""
    return env_name.lower().replace("_", "-")


def secret_name(path: str) -> str:
    """The Secrets Manager name of a paved secret: `<stack>/<path>`."""
    return f"{pulumi.get_stack()}/{path}"


class AppSecrets(pulumi.ComponentResource):
    """The secrets apps declare in `paved:secrets`, named `<stack>/app/<NAME>`."""

    secret_arns: dict[str, pulumi.Output[str]]
    secret_names: dict[str, str]

    def __init__(
        self,
        name: str,
        secrets: Mapping[str, SecretArgs],
        *,
        placement: SecretPlacement,
        cache_url: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:secrets:AppSecrets", name, None, opts)
        self.secret_arns = {}
        self.secret_names = {}
        for env_name, spec in secrets.items():
            resource_name = secret_resource_name(env_name)
            secret = placement.secret(
                resource_name,
                path=f"app/{env_name}",  # keep in step with secret_names below
                description=spec.description or f"{env_name} for the apps of this stack",
                rotation=_ROTATION_BY_SOURCE[spec.source].format(name=env_name),
                parent=self,
            )
            self._set_value(resource_name, secret, spec, cache_url)
            self.secret_arns[env_name] = secret.arn
            self.secret_names[env_name] = secret_name(f"app/{env_name}")
        self.register_outputs({"secret_arns": self.secret_arns})

    def _set_value(
        self,
        resource_name: str,
        secret: aws.secretsmanager.Secret,
        spec: SecretArgs,
        cache_url: pulumi.Input[str] | None,
    ) -> None:
        here = pulumi.ResourceOptions(parent=self)
        if spec.source == "generated":
            value = random.RandomPassword(
                resource_name,
                length=spec.length,
                special=False,
                keepers={"version": str(spec.version)},
                opts=here,
            )
            aws.secretsmanager.SecretVersion(
                resource_name,
                secret_id=secret.id,
                secret_string_wo=value.result,
                secret_string_wo_version=spec.version,
                opts=here,
            )
        elif spec.source == "cacheUrl":
            if cache_url is None:
                raise ValueError(f"secret {resource_name!r} takes the cache URL, but the stack has no cache")
            aws.secretsmanager.SecretVersion(
                resource_name, secret_id=secret.id, secret_string=pulumi.Output.secret(cache_url), opts=here
            )
