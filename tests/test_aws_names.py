"""Every name, description, metric name and label paved sends to AWS is one the AWS API accepts.

The source of truth is the AWS API model that boto3 ships (botocore's service models): each input shape
of the operation that creates a resource carries the member's `pattern`, `min` and `max`. A declarative
table maps each recorded pulumi-aws resource type's inputs (camelCase, as recorded) to that operation's
members, and a small walker checks every string known at preview time.

Where a model has no pattern but the API reference documents a character set or length (EC2, ELBv2, RDS,
ElastiCache, SNS, S3, Backup restore testing), the rule is written out below with its doc URL, and a test
checks that botocore's own documentation of that member states the same limits, so the copy stays traceable.

CloudFormation's resource schemas sometimes disagree with the API (AWS::WAFv2::WebACL's Description pattern
rejects `_`, which CreateWebACL accepts); they are not used here.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from paved.config import load_stack_config
from paved.errors import ConfigError
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from paved.rules import LABEL_VALUE_MAX, PROJECT_AND_STACK_MAX
from paved.values import is_secret, is_unknown

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Creates:
    """The AWS operation that receives a resource type's inputs: pulumi input path -> botocore member path.

    Paths are dotted; `[]` after a segment steps into each list item. `autoname` is the input pulumi-aws
    fills from the logical name when the program leaves it unset: `<logical name>-<7 random hex>`, refused
    at preview when that exceeds the provider's maximum (pulumi's resource.NewUniqueHex).
    """

    service: str
    operation: str
    members: Mapping[str, str]
    autoname: str | None = None


# Each type whose inputs include a name, description, comment, label or identifier AWS validates.
CREATES: dict[str, list[Creates]] = {
    "aws:wafv2/webAcl:WebAcl": [
        Creates(
            "wafv2",
            "CreateWebACL",
            {
                "name": "Name",
                "description": "Description",
                "visibilityConfig.metricName": "VisibilityConfig.MetricName",
                "rules[].name": "Rules[].Name",
                "rules[].visibilityConfig.metricName": "Rules[].VisibilityConfig.MetricName",
                "rules[].ruleLabels[].name": "Rules[].RuleLabels[].Name",
            },
        )
    ],
    "aws:wafv2/ipSet:IpSet": [
        Creates("wafv2", "CreateIPSet", {"name": "Name", "description": "Description"})
    ],
    "aws:iam/role:Role": [
        Creates(
            "iam",
            "CreateRole",
            {"name": "RoleName", "description": "Description", "path": "Path"},
            autoname="name",
        )
    ],
    "aws:iam/rolePolicy:RolePolicy": [
        Creates("iam", "PutRolePolicy", {"name": "PolicyName"}, autoname="name")
    ],
    "aws:ec2/securityGroup:SecurityGroup": [
        Creates(
            "ec2",
            "CreateSecurityGroup",
            {"name": "GroupName", "description": "Description"},
            autoname="name",
        )
    ],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        Creates(
            "ec2", "AuthorizeSecurityGroupIngress", {"description": "IpPermissions[].IpRanges[].Description"}
        )
    ],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
        Creates(
            "ec2", "AuthorizeSecurityGroupEgress", {"description": "IpPermissions[].IpRanges[].Description"}
        )
    ],
    "aws:ec2/launchTemplate:LaunchTemplate": [
        Creates(
            "ec2",
            "CreateLaunchTemplate",
            {"name": "LaunchTemplateName", "description": "VersionDescription"},
            autoname="name",
        )
    ],
    "aws:kms/key:Key": [Creates("kms", "CreateKey", {"description": "Description"})],
    "aws:kms/alias:Alias": [Creates("kms", "CreateAlias", {"name": "AliasName"})],
    "aws:cloudwatch/logGroup:LogGroup": [Creates("logs", "CreateLogGroup", {"name": "logGroupName"})],
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": [
        Creates("logs", "PutDeliverySource", {"name": "name"})
    ],
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": [
        Creates("logs", "PutDeliveryDestination", {"name": "name"})
    ],
    "aws:cloudwatch/logDelivery:LogDelivery": [
        Creates("logs", "CreateDelivery", {"deliverySourceName": "deliverySourceName"})
    ],
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": [
        Creates("logs", "PutResourcePolicy", {"policyName": "policyName"})
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [
        Creates(
            "cloudwatch",
            "PutMetricAlarm",
            {
                "name": "AlarmName",
                "alarmDescription": "AlarmDescription",
                "metricName": "MetricName",
                "namespace": "Namespace",
                "metricQueries[].id": "Metrics[].Id",
                "metricQueries[].label": "Metrics[].Label",
                "metricQueries[].expression": "Metrics[].Expression",
                "metricQueries[].metric.metricName": "Metrics[].MetricStat.Metric.MetricName",
                "metricQueries[].metric.namespace": "Metrics[].MetricStat.Metric.Namespace",
            },
        )
    ],
    "aws:backup/vault:Vault": [Creates("backup", "CreateBackupVault", {"name": "BackupVaultName"})],
    "aws:backup/plan:Plan": [
        Creates(
            "backup",
            "CreateBackupPlan",
            {
                "name": "BackupPlan.BackupPlanName",
                "rules[].ruleName": "BackupPlan.Rules[].RuleName",
                "rules[].targetVaultName": "BackupPlan.Rules[].TargetBackupVaultName",
            },
        )
    ],
    "aws:backup/selection:Selection": [
        Creates("backup", "CreateBackupSelection", {"name": "BackupSelection.SelectionName"})
    ],
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": [
        Creates("backup", "CreateRestoreTestingPlan", {"name": "RestoreTestingPlan.RestoreTestingPlanName"})
    ],
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": [
        Creates(
            "backup",
            "CreateRestoreTestingSelection",
            {
                "name": "RestoreTestingSelection.RestoreTestingSelectionName",
                "restoreTestingPlanName": "RestoreTestingPlanName",
            },
        )
    ],
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": [
        Creates("backup", "PutBackupVaultLockConfiguration", {"backupVaultName": "BackupVaultName"})
    ],
    "aws:cloudfront/originAccessControl:OriginAccessControl": [
        Creates(
            "cloudfront",
            "CreateOriginAccessControl",
            {
                "name": "OriginAccessControlConfig.Name",
                "description": "OriginAccessControlConfig.Description",
            },
            autoname="name",
        )
    ],
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": [
        Creates(
            "cloudfront",
            "CreateResponseHeadersPolicy",
            {"name": "ResponseHeadersPolicyConfig.Name", "comment": "ResponseHeadersPolicyConfig.Comment"},
            autoname="name",
        )
    ],
    "aws:cloudfront/distribution:Distribution": [
        Creates("cloudfront", "CreateDistribution", {"comment": "DistributionConfig.Comment"})
    ],
    "aws:acm/certificate:Certificate": [
        Creates(
            "acm",
            "RequestCertificate",
            {"domainName": "DomainName", "subjectAlternativeNames[]": "SubjectAlternativeNames[]"},
        )
    ],
    "aws:route53/record:Record": [
        Creates(
            "route53", "ChangeResourceRecordSets", {"name": "ChangeBatch.Changes[].ResourceRecordSet.Name"}
        )
    ],
    "aws:eks/cluster:Cluster": [Creates("eks", "CreateCluster", {"name": "name"})],
    "aws:ecr/repository:Repository": [
        Creates(
            "ecr", "CreateRepository", {"name": "repositoryName", "imageTagMutability": "imageTagMutability"}
        )
    ],
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": [
        Creates(
            "ecr",
            "CreateRepositoryCreationTemplate",
            {
                "prefix": "prefix",
                "imageTagMutability": "imageTagMutability",
                "lifecyclePolicy": "lifecyclePolicy",
            },
        )
    ],
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": [
        Creates(
            "ecr",
            "PutRegistryScanningConfiguration",
            {
                "scanType": "scanType",
                "rules[].repositoryFilters[].filter": "rules[].repositoryFilters[].filter",
            },
        )
    ],
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": [
        Creates(
            "ecr",
            "PutReplicationConfiguration",
            {
                "replicationConfiguration.rules[].repositoryFilters[].filter": (
                    "replicationConfiguration.rules[].repositoryFilters[].filter"
                )
            },
        )
    ],
    "aws:cloudwatch/dashboard:Dashboard": [
        Creates("cloudwatch", "PutDashboard", {"dashboardName": "DashboardName"})
    ],
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": [
        Creates(
            "cloudwatch",
            "PutCompositeAlarm",
            {"alarmName": "AlarmName", "alarmDescription": "AlarmDescription", "alarmRule": "AlarmRule"},
        )
    ],
    "aws:cloudtrail/trail:Trail": [Creates("cloudtrail", "CreateTrail", {"name": "Name"})],
    "aws:cfg/recorder:Recorder": [
        Creates("config", "PutConfigurationRecorder", {"name": "ConfigurationRecorder.name"})
    ],
    "aws:cfg/deliveryChannel:DeliveryChannel": [
        Creates("config", "PutDeliveryChannel", {"name": "DeliveryChannel.name"})
    ],
    "aws:codebuild/project:Project": [
        Creates("codebuild", "CreateProject", {"name": "name", "description": "description"})
    ],
    "aws:codeconnections/connection:Connection": [
        Creates(
            "codeconnections", "CreateConnection", {"name": "ConnectionName", "providerType": "ProviderType"}
        )
    ],
    "aws:iam/policy:Policy": [
        Creates("iam", "CreatePolicy", {"name": "PolicyName", "description": "Description"}, autoname="name")
    ],
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": [
        Creates(
            "ecr", "PutLifecyclePolicy", {"repository": "repositoryName", "policy": "lifecyclePolicyText"}
        )
    ],
    "aws:eks/nodeGroup:NodeGroup": [
        Creates("eks", "CreateNodegroup", {"nodeGroupName": "nodegroupName"}, autoname="nodeGroupName")
    ],
    "aws:eks/addon:Addon": [Creates("eks", "CreateAddon", {"addonName": "addonName"})],
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": [
        Creates(
            "eks",
            "CreatePodIdentityAssociation",
            {"namespace": "namespace", "serviceAccount": "serviceAccount"},
        )
    ],
    "aws:elasticache/parameterGroup:ParameterGroup": [
        Creates(
            "elasticache",
            "CreateCacheParameterGroup",
            {"name": "CacheParameterGroupName", "description": "Description"},
            autoname="name",
        )
    ],
    "aws:elasticache/subnetGroup:SubnetGroup": [
        Creates(
            "elasticache",
            "CreateCacheSubnetGroup",
            {"name": "CacheSubnetGroupName", "description": "CacheSubnetGroupDescription"},
            autoname="name",
        )
    ],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        Creates(
            "elasticache",
            "CreateReplicationGroup",
            {"replicationGroupId": "ReplicationGroupId", "description": "ReplicationGroupDescription"},
        ),
        Creates(
            "elasticache", "DeleteReplicationGroup", {"finalSnapshotIdentifier": "FinalSnapshotIdentifier"}
        ),
    ],
    "aws:rds/instance:Instance": [
        Creates(
            "rds",
            "CreateDBInstance",
            {"identifier": "DBInstanceIdentifier", "dbName": "DBName", "username": "MasterUsername"},
        ),
        Creates("rds", "DeleteDBInstance", {"finalSnapshotIdentifier": "FinalDBSnapshotIdentifier"}),
    ],
    "aws:rds/parameterGroup:ParameterGroup": [
        Creates(
            "rds",
            "CreateDBParameterGroup",
            {"name": "DBParameterGroupName", "description": "Description"},
            autoname="name",
        )
    ],
    "aws:rds/subnetGroup:SubnetGroup": [
        Creates(
            "rds",
            "CreateDBSubnetGroup",
            {"name": "DBSubnetGroupName", "description": "DBSubnetGroupDescription"},
            autoname="name",
        )
    ],
    "aws:rds/proxy:Proxy": [Creates("rds", "CreateDBProxy", {"name": "DBProxyName"})],
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": [
        Creates("rds", "ModifyDBProxyTargetGroup", {"dbProxyName": "DBProxyName"})
    ],
    "aws:rds/proxyTarget:ProxyTarget": [
        Creates(
            "rds",
            "RegisterDBProxyTargets",
            {"dbProxyName": "DBProxyName", "dbInstanceIdentifier": "DBInstanceIdentifiers[]"},
        )
    ],
    "aws:lb/loadBalancer:LoadBalancer": [
        Creates("elbv2", "CreateLoadBalancer", {"name": "Name"}, autoname="name")
    ],
    "aws:lb/targetGroup:TargetGroup": [
        Creates("elbv2", "CreateTargetGroup", {"name": "Name"}, autoname="name")
    ],
    "aws:secretsmanager/secret:Secret": [
        Creates("secretsmanager", "CreateSecret", {"name": "Name", "description": "Description"})
    ],
    "aws:sns/topic:Topic": [Creates("sns", "CreateTopic", {"name": "Name"}, autoname="name")],
    "aws:cloudwatch/eventRule:EventRule": [
        Creates("events", "PutRule", {"name": "Name", "description": "Description"}, autoname="name")
    ],
    # The target id is pulumi-aws's (its own autoname), and everything else references the rule and target.
    "aws:cloudwatch/eventTarget:EventTarget": [Creates("events", "PutTargets", {"rule": "Rule"})],
    "aws:rds/eventSubscription:EventSubscription": [
        Creates(
            "rds",
            "CreateEventSubscription",
            {
                "name": "SubscriptionName",
                "sourceType": "SourceType",
                "eventCategories[]": "EventCategories[]",
            },
            autoname="name",
        )
    ],
    "aws:s3/bucket:Bucket": [Creates("s3", "CreateBucket", {"bucket": "Bucket"}, autoname="bucket")],
    "aws:s3/bucketObjectv2:BucketObjectv2": [Creates("s3", "PutObject", {"key": "Key"})],
    "aws:synthetics/canary:Canary": [
        Creates(
            "synthetics",
            "CreateCanary",
            {
                "name": "Name",
                "handler": "Code.Handler",
                "s3Key": "Code.S3Key",
                "runtimeVersion": "RuntimeVersion",
                "schedule.expression": "Schedule.Expression",
                "artifactS3Location": "ArtifactS3Location",
            },
        )
    ],
    "aws:s3/bucketLogging:BucketLogging": [
        Creates("s3", "PutBucketLogging", {"targetPrefix": "BucketLoggingStatus.LoggingEnabled.TargetPrefix"})
    ],
    "aws:sesv2/configurationSet:ConfigurationSet": [
        Creates("sesv2", "CreateConfigurationSet", {"configurationSetName": "ConfigurationSetName"})
    ],
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": [
        Creates(
            "sesv2",
            "CreateConfigurationSetEventDestination",
            {"configurationSetName": "ConfigurationSetName", "eventDestinationName": "EventDestinationName"},
        )
    ],
    "aws:sesv2/emailIdentity:EmailIdentity": [
        Creates(
            "sesv2",
            "CreateEmailIdentity",
            {"emailIdentity": "EmailIdentity", "configurationSetName": "ConfigurationSetName"},
        )
    ],
    "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes": [
        Creates(
            "sesv2",
            "PutEmailIdentityMailFromAttributes",
            {"emailIdentity": "EmailIdentity", "mailFromDomain": "MailFromDomain"},
        )
    ],
}

_ATTACHES_BY_REFERENCE = "names nothing: every string input is an ID, ARN or reference to another resource"
_SETTINGS_ONLY = "carries settings and references only; no name, description or label AWS validates"

# Recorded types that have nothing to check, and why. Every recorded aws type is in exactly one table.
NOTHING_TO_CHECK: dict[str, str] = {
    "aws:acm/certificateValidation:CertificateValidation": _ATTACHES_BY_REFERENCE,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _SETTINGS_ONLY,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "adopts the VPC's default group; AWS names it",
    "aws:ec2/eip:Eip": _SETTINGS_ONLY,
    "aws:ec2/flowLog:FlowLog": _ATTACHES_BY_REFERENCE,
    "aws:ec2/internetGateway:InternetGateway": _SETTINGS_ONLY,
    "aws:ec2/natGateway:NatGateway": _ATTACHES_BY_REFERENCE,
    "aws:ec2/route:Route": _ATTACHES_BY_REFERENCE,
    "aws:ec2/routeTable:RouteTable": _SETTINGS_ONLY,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ATTACHES_BY_REFERENCE,
    "aws:ec2/subnet:Subnet": _SETTINGS_ONLY,
    "aws:ec2/vpc:Vpc": _SETTINGS_ONLY,
    "aws:ec2/vpcEndpoint:VpcEndpoint": "serviceName is an AWS endpoint service name, not one paved makes up",
    "aws:eks/accessEntry:AccessEntry": _ATTACHES_BY_REFERENCE,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _ATTACHES_BY_REFERENCE,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _SETTINGS_ONLY,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _ATTACHES_BY_REFERENCE,
    "aws:codebuild/webhook:Webhook": _SETTINGS_ONLY,
    "aws:cfg/recorderStatus:RecorderStatus": _SETTINGS_ONLY,
    "aws:cloudcontrol/resource:Resource": "Application Signals' discovery: a CloudFormation type, no name",
    "aws:guardduty/detector:Detector": _SETTINGS_ONLY,
    "aws:guardduty/detectorFeature:DetectorFeature": _SETTINGS_ONLY,
    "aws:securityhub/account:Account": _SETTINGS_ONLY,
    "aws:securityhub/standardsSubscription:StandardsSubscription": _ATTACHES_BY_REFERENCE,
    "aws:kms/keyPolicy:KeyPolicy": "the policy document is checked by the policy tests, not as a name",
    "aws:lb/listener:Listener": _SETTINGS_ONLY,
    "aws:lb/listenerRule:ListenerRule": _SETTINGS_ONLY,
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": _ATTACHES_BY_REFERENCE,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _SETTINGS_ONLY,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _ATTACHES_BY_REFERENCE,
    "aws:s3/bucketPolicy:BucketPolicy": "the policy document is checked by the policy tests, not as a name",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _SETTINGS_ONLY,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _SETTINGS_ONLY,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _SETTINGS_ONLY,
    "aws:s3/bucketVersioning:BucketVersioning": _SETTINGS_ONLY,
    "aws:secretsmanager/secretVersion:SecretVersion": "holds a secret value, never a name",
    "aws:sns/topicPolicy:TopicPolicy": "the policy document is checked by the policy tests, not as a name",
    "aws:sns/topicSubscription:TopicSubscription": "the endpoint is an email address from config",
    "aws:wafv2/webAclAssociation:WebAclAssociation": _ATTACHES_BY_REFERENCE,
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": (
        "redacted header names are fixed HTTP header names; the log group name is checked on the log group"
    ),
}


@dataclass(frozen=True)
class DocumentedRule:
    """A limit the API reference documents that botocore's model does not encode as pattern/min/max.

    `doc_phrase` must appear in botocore's documentation of the member, so the rule traces to the model.
    """

    pattern: str
    max_length: int
    doc_phrase: str
    url: str
    min_length: int = 1


_EC2_CHARSET = r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]"
_ELB_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# RDS and ElastiCache identifiers: a letter first, letters/digits/hyphens, no trailing or doubled hyphen.
_DB_IDENTIFIER = r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]*(?<!-)"

DOCUMENTED_RULES: dict[tuple[str, str, str], DocumentedRule] = {
    ("ec2", "CreateSecurityGroup", "Description"): DocumentedRule(
        f"{_EC2_CHARSET}*",
        255,
        "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
    ),
    ("ec2", "CreateSecurityGroup", "GroupName"): DocumentedRule(
        f"(?!sg-){_EC2_CHARSET}*",
        255,
        "Can't start with sg-",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
    ),
    **{
        ("ec2", operation, "IpPermissions[].IpRanges[].Description"): DocumentedRule(
            f"{_EC2_CHARSET}*",
            255,
            "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html",
        )
        for operation in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress")
    },
    ("ec2", "CreateLaunchTemplate", "LaunchTemplateName"): DocumentedRule(
        r"[a-zA-Z0-9().\-/_]+",
        128,
        "A name for the launch template",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html",
        min_length=3,
    ),
    ("cloudwatch", "PutDashboard", "DashboardName"): DocumentedRule(
        r"[A-Za-z0-9_-]+",
        255,
        'The maximum length is 255, and valid characters are A-Z, a-z, 0-9, "-", and "_"',
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
    ),
    ("cloudtrail", "CreateTrail", "Name"): DocumentedRule(
        r"[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9]))*",
        128,
        "Be between 3 and 128 characters",
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html",
        min_length=3,
    ),
    ("elbv2", "CreateTargetGroup", "Name"): DocumentedRule(
        _ELB_NAME,
        32,
        "maximum of 32 characters",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
    ),
    ("elbv2", "CreateLoadBalancer", "Name"): DocumentedRule(
        f"(?!internal-){_ELB_NAME}",
        32,
        "maximum of 32 characters",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
    ),
    ("rds", "CreateDBInstance", "DBInstanceIdentifier"): DocumentedRule(
        _DB_IDENTIFIER,
        63,
        "1 to 63 letters, numbers, or hyphens",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html",
    ),
    ("rds", "DeleteDBInstance", "FinalDBSnapshotIdentifier"): DocumentedRule(
        _DB_IDENTIFIER,
        255,
        "1 to 255 letters or numbers",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html",
    ),
    ("rds", "CreateDBParameterGroup", "DBParameterGroupName"): DocumentedRule(
        _DB_IDENTIFIER,
        255,
        "1 to 255 letters, numbers, or hyphens",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html",
    ),
    ("rds", "CreateDBSubnetGroup", "DBSubnetGroupName"): DocumentedRule(
        r"(?!default$)[a-zA-Z0-9._ -]+",
        255,
        "no more than 255 letters, numbers, periods, underscores, spaces, or hyphens",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html",
    ),
    ("elasticache", "CreateReplicationGroup", "ReplicationGroupId"): DocumentedRule(
        _DB_IDENTIFIER,
        40,
        "from 1 to 40 alphanumeric characters or hyphens",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html",
    ),
    ("elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupName"): DocumentedRule(
        r"[a-zA-Z0-9-]+",
        255,
        "no more than 255 alphanumeric characters or hyphens",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html",
    ),
    ("sns", "CreateTopic", "Name"): DocumentedRule(
        r"[A-Za-z0-9_-]+",
        256,
        "between 1 and 256 characters long",
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    ),
    ("backup", "CreateRestoreTestingPlan", "RestoreTestingPlan.RestoreTestingPlanName"): DocumentedRule(
        r"[a-zA-Z0-9_]+",
        50,
        "only alphanumeric characters and underscores",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreTestingPlanForCreate.html",
    ),
    (
        "backup",
        "CreateRestoreTestingSelection",
        "RestoreTestingSelection.RestoreTestingSelectionName",
    ): DocumentedRule(
        r"[a-zA-Z0-9_]+",
        50,
        "only alphanumeric characters and underscores",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreTestingSelectionForCreate.html",
    ),
    ("backup", "CreateRestoreTestingSelection", "RestoreTestingPlanName"): DocumentedRule(
        r"[a-zA-Z0-9_]+",
        50,
        "Input the restore testing plan name",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateRestoreTestingSelection.html",
    ),
    # The API reference states it in prose; the model has no pattern. Every operation that names the set
    # takes the name it was created with, so the rule is checked where it is made.
    ("sesv2", "CreateConfigurationSet", "ConfigurationSetName"): DocumentedRule(
        r"[A-Za-z0-9_-]+",
        64,
        "up to 64 alphanumeric characters, including letters, numbers, hyphens (-) and underscores (_) only",
        "https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_CreateConfigurationSet.html",
    ),
    # S3's model documents no naming rule; the user guide does.
    ("s3", "CreateBucket", "Bucket"): DocumentedRule(
        r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        63,
        "The name of the bucket to create",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        min_length=3,
    ),
}

_LONGEST_APP_NAME = 40

# A stand-in for the 7 hex characters pulumi appends to an autoname: the longest and same charset.
_AUTONAME_SUFFIX = "-0a1b2c3"


@cache
def _service(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def _segments(path: str) -> list[tuple[str, bool]]:
    return [(segment.removesuffix("[]"), segment.endswith("[]")) for segment in path.split(".")]


@cache
def _member(service: str, operation: str, path: str) -> tuple[Any, str]:
    """The botocore shape of `path` in the operation's input, and that member's own documentation."""
    # botocore types its lazily computed attributes (members, metadata) loosely.
    shape: Any = _service(service).operation_model(operation).input_shape
    documentation = ""
    for name, into_list in _segments(path):
        assert shape.type_name == "structure", f"{service} {operation}: {path} leaves a structure"
        assert name in shape.members, f"{service} {operation} has no member {name!r} (in {path})"
        documentation = html.unescape(re.sub(r"<[^>]+>", "", shape.members[name].documentation or ""))
        shape = shape.members[name]
        if into_list:
            shape = shape.member
    assert shape.type_name == "string", f"{service} {operation} {path} is a {shape.type_name}, not a string"
    return shape, documentation


def _values(node: Any, path: list[tuple[str, bool]]) -> Iterator[str]:
    """The strings at `path` that are known at preview time (unknowns and secrets are not)."""
    if node is None or is_unknown(node) or is_secret(node):
        return
    if not path:
        assert isinstance(node, str), f"expected a string, got {node!r}"
        yield node
        return
    (name, into_list), rest = path[0], path[1:]
    if not isinstance(node, Mapping) or name not in node:
        return
    child = node[name]
    if into_list:
        if child is None or is_unknown(child):
            return
        for item in child:
            yield from _values(item, rest)
    else:
        yield from _values(child, rest)


def problems_of(value: str, service: str, operation: str, member_path: str) -> list[str]:
    shape, _ = _member(service, operation, member_path)
    limits: Mapping[str, Any] = shape.metadata
    rules: list[tuple[str | None, int | None, int | None, str]] = [
        (
            limits.get("pattern"),
            limits.get("min"),
            limits.get("max"),
            f"botocore {service} {shape.name}",
        )
    ]
    documented = DOCUMENTED_RULES.get((service, operation, member_path))
    if documented:
        rules.append((documented.pattern, documented.min_length, documented.max_length, documented.url))
    problems = []
    for pattern, minimum, maximum, source in rules:
        # AWS patterns are unanchored Java regexes that the service applies to the whole value.
        if pattern is not None and not re.fullmatch(pattern, value):
            problems.append(f"does not match {pattern!r} ({source})")
        if minimum is not None and len(value) < minimum:
            problems.append(f"is shorter than {minimum} ({source})")
        if maximum is not None and len(value) > maximum:
            problems.append(f"is {len(value)} characters, over {maximum} ({source})")
    return problems


def _effective_inputs(resource: RecordedResource, creates: Creates) -> dict[str, Any]:
    if creates.autoname is None or resource.inputs.get(creates.autoname) is not None:
        return resource.inputs
    return {**resource.inputs, creates.autoname: resource.name + _AUTONAME_SUFFIX}


def name_problems(recording: Recording) -> list[str]:
    found = []
    for resource in recording.resources:
        for creates in CREATES.get(resource.type, []):
            inputs = _effective_inputs(resource, creates)
            for input_path, member_path in creates.members.items():
                for value in _values(inputs, _segments(input_path)):
                    found.extend(
                        f"{resource.type} {resource.name} {input_path}={value!r} "
                        f"({creates.service} {creates.operation} {member_path}) {problem}"
                        for problem in problems_of(value, creates.service, creates.operation, member_path)
                    )
    return found


def _aws_types(recording: Recording) -> set[str]:
    return {resource.type for resource in recording.resources if resource.type.startswith("aws:")}


def _renamed(node: Any, names: Mapping[str, str]) -> Any:
    """`node` with every string that names an app (its name, or a reference to it) renamed."""
    if isinstance(node, str):
        return names.get(node, node)
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    if isinstance(node, dict):
        return {key: _renamed(value, names) for key, value in node.items()}
    return node


# The longest names config allows, at both of rules.name_length_violations' limits: the longest stack name
# (project "paved") with the app names its label limit leaves, and the longest app names with the stack
# name that leaves. Names built from the stack alone, the app alone, or both, each meet their longest. The
# stack name holds every kind of character rules.name_character_violations allows: digits, lowercase
# letters and single hyphens.
_LONGEST_STACK = ("prod-0123456789-" + string.ascii_lowercase)[: PROJECT_AND_STACK_MAX - len("paved-")]
LONGEST_NAMES = [
    (_LONGEST_STACK, LABEL_VALUE_MAX - len(_LONGEST_STACK) - 1),
    (_LONGEST_STACK[: LABEL_VALUE_MAX - _LONGEST_APP_NAME - 1], _LONGEST_APP_NAME),
]


@pytest.fixture(scope="module", params=LONGEST_NAMES, ids=["longest-stack", "longest-apps"])
def longest_names(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Prod as a stack of that name, every app renamed to that length."""
    stack, app_length = request.param
    project = tmp_path_factory.mktemp("project")
    (project / "stacks").mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).write_text((ROOT / name).read_text())
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(
        (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    )
    apps = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["paved:apps"]
    names = {app["name"]: f"{app['name']}-{'x' * app_length}"[:app_length] for app in apps}
    return run_project(project, stack, {"paved:apps": _renamed(apps, names)})


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_shipped_stacks_send_names_aws_accepts(shipped_recordings: Callable[[str], Recording], stack: str):
    assert name_problems(shipped_recordings(stack)) == []


def test_the_longest_names_config_allows_are_names_aws_and_kubernetes_accept(longest_names: Recording):
    deployments = longest_names.of_type("kubernetes:apps/v1:Deployment")
    labels = [d.inputs["metadata"]["labels"]["app.kubernetes.io/instance"] for d in deployments]
    assert len(deployments) == 3 and {len(label) for label in labels} == {LABEL_VALUE_MAX}
    [cache] = longest_names.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert len(cache.inputs["replicationGroupId"]) <= 40
    assert name_problems(longest_names) == []


def test_one_character_more_is_refused_by_config() -> None:
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, _LONGEST_STACK + "x")
    assert [problem.path for problem in caught.value.problems] == ["(stack name)"]
    longest_apps_stack, app_length = LONGEST_NAMES[1]
    raw["paved:apps"][0]["name"] = "w" * app_length
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, longest_apps_stack + "x")
    assert [problem.path for problem in caught.value.problems] == ["paved:apps[0].name"]


@pytest.mark.parametrize("stack", ["prod_1", "prod.eu", "prod--a", "prod-"])
def test_stack_names_config_refuses_give_names_aws_refuses(stack: str) -> None:
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    assert [problem.path for problem in caught.value.problems] == ["(stack name)"]
    assert problems_of(f"paved-{stack}-cache", "elasticache", "CreateReplicationGroup", "ReplicationGroupId")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_recorded_aws_type_is_checked_or_exempt_with_a_reason(
    shipped_recordings: Callable[[str], Recording], stack: str
):
    unclassified = _aws_types(shipped_recordings(stack)) - set(CREATES) - set(NOTHING_TO_CHECK)
    assert unclassified == set()


def test_no_type_is_both_checked_and_exempt():
    assert set(CREATES) & set(NOTHING_TO_CHECK) == set()


def test_every_table_path_resolves_to_a_string_member_of_the_operation():
    for type_, targets in CREATES.items():
        for creates in targets:
            if creates.autoname is not None:
                assert creates.autoname in creates.members, type_
            for member_path in creates.members.values():
                _member(creates.service, creates.operation, member_path)


@pytest.mark.parametrize(("service", "operation", "member_path"), sorted(DOCUMENTED_RULES))
def test_documented_rules_are_stated_in_the_model_documentation(
    service: str, operation: str, member_path: str
):
    _, documentation = _member(service, operation, member_path)
    phrase = DOCUMENTED_RULES[(service, operation, member_path)].doc_phrase
    assert phrase in documentation, documentation


@pytest.mark.parametrize(
    ("value", "service", "operation", "member_path"),
    [
        ("paved prod alb-waf (REGIONAL)", "wafv2", "CreateWebACL", "Description"),
        ("x" * 65, "iam", "CreateRole", "RoleName"),
        ("alb-" + "a" * 40 + _AUTONAME_SUFFIX, "elbv2", "CreateTargetGroup", "Name"),
        (
            "paved-prod-backup",
            "backup",
            "CreateRestoreTestingPlan",
            "RestoreTestingPlan.RestoreTestingPlanName",
        ),
        ("App's database role", "ec2", "CreateSecurityGroup", "Description"),
    ],
)
def test_the_check_rejects_values_aws_rejects(value: str, service: str, operation: str, member_path: str):
    assert problems_of(value, service, operation, member_path)


def test_autonamed_resources_are_checked_with_the_suffix_pulumi_appends():
    resource = RecordedResource(
        urn="urn",
        type="aws:lb/targetGroup:TargetGroup",
        name="alb-" + "a" * 21,
        custom=True,
        parent="",
        inputs={},
    )
    assert name_problems(Recording(project="p", stack="s", resources=[resource])) != []
    resource.name = "alb-" + "a" * 20
    assert name_problems(Recording(project="p", stack="s", resources=[resource])) == []
