"""What every data store of a stack shares: where it runs, who may reach it, and how it is kept."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.observability import Alerting
from components.secrets import SecretPlacement


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
