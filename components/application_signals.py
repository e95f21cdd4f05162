"""CloudWatch Application Signals' account-wide part, once per account and region (the bootstrap program's,
opt-in): the log group the CloudWatch agent writes Application Signals' EMF to, and the one-time discovery
that creates its service-linked role. The apps' `tracing` (paved:apps[].tracing) sends to the node agent of
the amazon-cloudwatch-observability add-on, which writes here: docs/aws-facts/observability-agent.md.
"""

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.kms import logs_key
from components.logs import log_group
from paved.fields import ConfigModel, LogRetention

# The agent's fixed name for it (translator/translate/otel/exporter/awsemf/awsemf_default_appsignals.yaml in
# aws/amazon-cloudwatch-agent): one per account and region, so two app stacks that both made it would fight.
DATA_LOG_GROUP = "/aws/application-signals/data"
# StartDiscovery as a CloudFormation resource type, which pulumi-aws 7.51.1 has no resource of its own for:
# it creates the AWSServiceRoleForCloudWatchApplicationSignals role and takes no properties.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationsignals-discovery.html
DISCOVERY_TYPE = "AWS::ApplicationSignals::Discovery"


class ApplicationSignalsArgs(ConfigModel):
    enabled: bool
    log_retention_days: LogRetention


class ApplicationSignals(pulumi.ComponentResource):
    """With `args.enabled`: the data log group, with retention and a key that serves that group alone (the
    agent would otherwise create it unencrypted and kept forever), and the discovery."""

    def __init__(
        self,
        name: str,
        args: ApplicationSignalsArgs,
        *,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:applicationSignals:ApplicationSignals", name, None, opts)
        if args.enabled:
            key = logs_key(
                f"{name}-logs",
                log_group=DATA_LOG_GROUP,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            log_group(
                f"{name}-data",
                name=DATA_LOG_GROUP,
                kms_key_arn=key.key_arn,
                retention_days=args.log_retention_days,
                # As the audit's: turning the section off takes `pulumi state unprotect` of both first.
                protect=True,
                tags=tags,
                parent=self,
            )
            aws.cloudcontrol.Resource(
                f"{name}-discovery",
                type_name=DISCOVERY_TYPE,
                desired_state="{}",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
