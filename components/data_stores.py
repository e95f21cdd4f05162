"""What every data store of a stack shares: where it runs, who may reach it, and how it is kept."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.observability import Alerting
from components.secrets import SecretPlacement
from components.security_groups import port_security_group


@dataclass(frozen=True)
class DataStoreContext:
    """The network placement, trusted clients, keys, secrets, alerting and protection of data stores."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    # Rule name -> security group id of the clients allowed in (the workloads group, later others).
    client_security_group_ids: Mapping[str, pulumi.Input[str]]
    data_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    secrets: SecretPlacement
    alerting: Alerting
    protect: bool
    tags: Mapping[str, str]

    def client_security_group(
        self, name: str, *, description: str, port: int, parent: pulumi.Resource
    ) -> aws.ec2.SecurityGroup:
        """A security group admitting `port` from the trusted clients only (see port_security_group)."""
        return port_security_group(
            name,
            vpc_id=self.vpc_id,
            description=description,
            port=port,
            sources=self.client_security_group_ids,
            tags=self.tags,
            parent=parent,
        )
