"""paved: the stack's typed config, wired to the components.

Config is validated before any resource is declared: a bad stack file stops here with one error listing
every problem, and nothing is half-built.
"""

import pulumi

from components.kms import alerts_key, logs_key
from components.network import Network
from components.observability import Alerting
from paved.config import load_from_pulumi

config = load_from_pulumi()
tags = config.tags
# Keys guard data that outlives any one deploy: in prod, deleting one needs an explicit unprotect.
stateful = pulumi.ResourceOptions(protect=config.is_prod)

logs_kms = logs_key("logs", tags=tags, opts=stateful)
alerts_kms = alerts_key("alerts", tags=tags, opts=stateful)
alerting = Alerting("alerts", config.alerts, kms_key_arn=alerts_kms.key_arn, tags=tags)
network = Network("network", config.network, logs_key_arn=logs_kms.key_arn, alerting=alerting, tags=tags)

pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
pulumi.export("network_vpc_id", network.vpc_id)
pulumi.export("network_availability_zones", network.availability_zones)
pulumi.export("network_public_subnet_ids", network.public_subnet_ids)
pulumi.export("network_private_subnet_ids", network.private_subnet_ids)
pulumi.export("network_isolated_subnet_ids", network.isolated_subnet_ids)
pulumi.export("network_flow_log_group_name", network.flow_log_group_name)
pulumi.export("alerts_topic_arn", alerting.topic_arn)
pulumi.export("kms_logs_key_arn", logs_kms.key_arn)
pulumi.export("kms_alerts_key_arn", alerts_kms.key_arn)
