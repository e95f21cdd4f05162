"""CloudFront in front of the ALB and the static-assets bucket: HTTPS only, security headers, WAF, logs.

- The default behaviour goes to the ALB, uncached, with every viewer header, cookie and query string
  (managed AllViewer policy, which also carries the WebSocket upgrade headers). CloudFront connects to
  `origin.<domain>` and forwards the viewer's Host, so the ALB's certificate (the domain and `*.domain`)
  must cover every app host, which DomainArgs guarantees.
- Asset paths go to the KMS-encrypted bucket through origin access control, cached (CachingOptimized) and
  compressed. CloudFront compresses only what its cache policy allows, so uncached app responses must be
  compressed by the apps themselves (README).
- The bucket policy and the key policy both name this distribution's ARN. The distribution needs the
  bucket, so both policies take the ARN through a deferred output and are separate resources created
  after the distribution: key -> bucket -> distribution -> (key policy, bucket policy).
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.buckets import SecureBucket, ServerAccessLogs, cloudfront_read_statement
from components.dashboard import GLOBAL_REGION, Metric, Widget
from components.edge import (
    CORS_ALLOWED_HEADERS,
    CORS_MAX_AGE_SECONDS,
    HSTS_MAX_AGE_SECONDS,
    ORIGIN_HEADER,
    EdgeArgs,
)
from components.iam import policy_document, service_role
from components.kms import KmsKey, cloudfront_key
from components.log_delivery import log_delivery_policy
from components.logs import log_group
from components.observability import Alerting
from components.uploads import CDN_PATH as UPLOADS_CDN_PATH

if TYPE_CHECKING:
    from components.workload import AppArgs

# AWS managed policies, by their fixed IDs:
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
# Hosted zone of every CloudFront alias target:
# https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
MINIMUM_TLS = "TLSv1.2_2021"
_ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
_READ_METHODS = ["GET", "HEAD"]
# What an uploaded file may do when opened from the apps' origin: nothing but show itself.
UPLOADS_CONTENT_SECURITY_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


def viewer_hosts(domain: str, apps: Sequence["AppArgs"]) -> list[str]:
    """The names the distribution answers: every app host, or the bare domain when no app names one."""
    hosts = sorted({app.host for app in apps if app.host})
    return hosts or [domain]


class Cdn(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    distribution_domain_name: pulumi.Output[str]
    assets_bucket_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        apps: Sequence["AppArgs"],
        *,
        domain: str,
        hosted_zone_id: str | None,
        certificate_arn: pulumi.Input[str],
        web_acl_arn: pulumi.Input[str],
        alb_dns_name: pulumi.Input[str],
        alb_zone_id: pulumi.Input[str],
        origin_secret: pulumi.Input[str],
        global_provider: aws.Provider,
        dr_provider: aws.Provider | None,
        global_logs_key_arn: pulumi.Input[str],
        global_alerting: Alerting,
        access_logs: ServerAccessLogs,
        dr_access_logs: ServerAccessLogs | None,
        protect: bool,
        tags: Mapping[str, str],
        uploads_origin: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:cdn:Cdn", name, None, opts)
        self._tags = dict(tags)
        self._keep_stateful = protect
        here = pulumi.ResourceOptions(parent=self)
        distribution_arn, resolve_distribution_arn = pulumi.deferred_output()
        key, bucket = self._assets_store(f"{name}-assets", distribution_arn, protect, None, access_logs)
        failover = None
        if args.assets_failover and dr_provider is not None and dr_access_logs is not None:
            failover = self._assets_store(
                f"{name}-assets-dr", distribution_arn, protect, dr_provider, dr_access_logs
            )
            self._replicate(name, (key, bucket), failover)
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-assets",
            description="CloudFront signs every request to the assets bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=here,
        )
        headers = self._response_headers(f"{name}-security-headers", args, args.content_security_policy)
        origin_host = f"origin.{domain}"
        distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            comment=f"paved {pulumi.get_stack()}",
            aliases=viewer_hosts(domain, apps),
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            web_acl_id=web_acl_arn,
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MINIMUM_TLS,
            ),
            origins=[
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="alb",
                    domain_name=origin_host,
                    custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                        http_port=80,
                        https_port=443,
                        origin_protocol_policy="https-only",
                        origin_ssl_protocols=["TLSv1.2"],
                        origin_read_timeout=60,
                    ),
                    custom_headers=[
                        aws.cloudfront.DistributionOriginCustomHeaderArgs(
                            name=ORIGIN_HEADER, value=origin_secret
                        )
                    ],
                ),
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="assets",
                    domain_name=bucket.regional_domain_name,
                    origin_access_control_id=access.id,
                ),
                *(
                    [
                        aws.cloudfront.DistributionOriginArgs(
                            origin_id="assets-dr",
                            domain_name=failover[1].regional_domain_name,
                            origin_access_control_id=access.id,
                        )
                    ]
                    if failover
                    else []
                ),
                *(
                    [
                        aws.cloudfront.DistributionOriginArgs(
                            origin_id="uploads",
                            domain_name=uploads_origin,
                            origin_access_control_id=access.id,
                        )
                    ]
                    if uploads_origin is not None
                    else []
                ),
            ],
            # Assets fail over to the DR-region replica when the primary bucket errors:
            # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html
            origin_groups=[
                aws.cloudfront.DistributionOriginGroupArgs(
                    origin_id="assets-group",
                    failover_criteria=aws.cloudfront.DistributionOriginGroupFailoverCriteriaArgs(
                        status_codes=[500, 502, 503, 504]
                    ),
                    members=[
                        aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id="assets"),
                        aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id="assets-dr"),
                    ],
                )
            ]
            if failover
            else None,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id="alb",
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=_ALL_METHODS,
                cached_methods=_READ_METHODS,
                cache_policy_id=CACHING_DISABLED,
                origin_request_policy_id=ALL_VIEWER,
                response_headers_policy_id=headers.id,
                compress=False,  # CachingDisabled does not let CloudFront compress; the apps do
            ),
            ordered_cache_behaviors=[
                *([self._uploads_behavior(name, args)] if uploads_origin is not None else []),
                *(
                    aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                        path_pattern=path,
                        # Origin groups fail over only GET, HEAD and OPTIONS, all this behavior allows.
                        target_origin_id="assets-group" if failover else "assets",
                        viewer_protocol_policy="redirect-to-https",
                        allowed_methods=["GET", "HEAD", "OPTIONS"],
                        cached_methods=_READ_METHODS,
                        cache_policy_id=CACHING_OPTIMIZED,
                        response_headers_policy_id=headers.id,
                        compress=True,
                    )
                    for path in args.asset_paths
                ),
            ],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                # Geo blocking is a WAF rule (geoBlockCountries), where it is logged and counted.
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            tags=self._tags,
            opts=here,
        )
        resolve_distribution_arn(distribution.arn)
        self._logging(name, distribution, args, global_provider, global_logs_key_arn)
        if hosted_zone_id is not None:
            self._dns(
                name, hosted_zone_id, origin_host, alb_dns_name, alb_zone_id, distribution, domain, apps
            )
        server, client = args.alarms.cdn_server_error_rate, args.alarms.cdn_client_error_rate
        global_alerting.threshold_alarms(
            name,
            [
                server.threshold_for(
                    suffix="5xx-rate",
                    description=f"More than {server.threshold:g}% of CloudFront responses are 5XX "
                    f"{server.window_text}",
                    metric_name="5xxErrorRate",
                    statistic="Average",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                ),
                client.threshold_for(
                    suffix="4xx-rate",
                    description=f"More than {client.threshold:g}% of CloudFront responses are 4XX "
                    f"{client.window_text}",
                    metric_name="4xxErrorRate",
                    statistic="Average",
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                ),
            ],
            # CloudFront publishes to us-east-1 with Region "Global":
            # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html
            namespace="AWS/CloudFront",
            dimensions={"DistributionId": distribution.id, "Region": "Global"},
            parent=self,
        )
        metrics = {"DistributionId": distribution.id, "Region": "Global"}
        # Whatever the stack's region, CloudFront's metrics are in us-east-1.
        self.widgets = [
            Widget(
                "CloudFront: requests",
                GLOBAL_REGION,
                [Metric("AWS/CloudFront", "Requests", metrics, "Sum", "requests")],
            ),
            Widget(
                "CloudFront: error rates (%)",
                GLOBAL_REGION,
                [
                    Metric("AWS/CloudFront", "4xxErrorRate", metrics, "Average", "4XX"),
                    Metric("AWS/CloudFront", "5xxErrorRate", metrics, "Average", "5XX"),
                ],
                y_axis={"min": 0, "max": 100},
            ),
        ]
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.distribution_domain_name = distribution.domain_name
        self.assets_bucket_name = bucket.bucket_name
        self.register_outputs(
            {
                "distribution_id": self.distribution_id,
                "distribution_domain_name": self.distribution_domain_name,
                "assets_bucket_name": self.assets_bucket_name,
            }
        )

    def _assets_store(
        self,
        name: str,
        distribution_arn: pulumi.Output[str],
        protect: bool,
        provider: aws.Provider | None,
        access_logs: ServerAccessLogs,
    ) -> tuple[KmsKey, SecureBucket]:
        """A KMS key and a bucket only this distribution may read (through OAC), in `provider`'s region."""
        key = cloudfront_key(
            name,
            purpose="a static-assets bucket that CloudFront serves",
            distribution_arn=distribution_arn,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, provider=provider),
        )
        bucket = SecureBucket(
            name,
            purpose="static assets served by CloudFront",
            kms_key_arn=key.key_arn,
            expire_days=None,
            extra_statements=lambda bucket_arn: [cloudfront_read_statement(bucket_arn, distribution_arn)],
            access_logs=access_logs,
            protect=protect,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        return key, bucket

    def _replicate(
        self, name: str, source: tuple[KmsKey, SecureBucket], destination: tuple[KmsKey, SecureBucket]
    ) -> None:
        (source_key, source_bucket), (target_key, target_bucket) = source, destination
        # The permissions S3 replication needs for KMS-encrypted objects, scoped to these two buckets and
        # keys: https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html
        policy = policy_document(
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_bucket.bucket_arn,
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": pulumi.Output.concat(source_bucket.bucket_arn, "/*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": pulumi.Output.concat(target_bucket.bucket_arn, "/*"),
            },
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": source_key.key_arn},
            {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": target_key.key_arn},
        )
        role = service_role(
            f"{name}-assets-replication",
            service="s3.amazonaws.com",
            description="Lets S3 replicate the assets bucket to the DR region",
            inline_policy=policy,
            tags=self._tags,
            parent=self,
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-assets",
            bucket=source_bucket.bucket_name,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="dr-region",
                    status="Enabled",
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(),
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Enabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=target_bucket.bucket_arn,
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=target_key.key_arn
                        ),
                    ),
                )
            ],
            # Replication needs versioning on both buckets, which each SecureBucket turns on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source_bucket, target_bucket, *role.ready]),
        )

    def _uploads_behavior(
        self, name: str, args: EdgeArgs
    ) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgs:
        """Uploads, read through OAC and cached. Nobody reviewed what users uploaded, and here it is served
        from the apps' own origin, so every response is sandboxed: an uploaded HTML page or SVG runs no
        script and reads no cookie of the app, while an <img> or a download still works.
        https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Content-Security-Policy/sandbox
        """
        headers = self._response_headers(f"{name}-uploads-headers", args, UPLOADS_CONTENT_SECURITY_POLICY)
        return aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
            path_pattern=UPLOADS_CDN_PATH,
            target_origin_id="uploads",
            viewer_protocol_policy="redirect-to-https",
            # Reads only: uploads go to S3 through presigned URLs, never through CloudFront.
            allowed_methods=_READ_METHODS,
            cached_methods=_READ_METHODS,
            cache_policy_id=CACHING_OPTIMIZED,
            response_headers_policy_id=headers.id,
            compress=True,
        )

    def _response_headers(
        self, name: str, args: EdgeArgs, content_security_policy: str
    ) -> aws.cloudfront.ResponseHeadersPolicy:
        cors = None
        if args.cors_allowed_origins:
            cors = aws.cloudfront.ResponseHeadersPolicyCorsConfigArgs(
                access_control_allow_credentials=False,
                access_control_allow_headers=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowHeadersArgs(
                    items=list(CORS_ALLOWED_HEADERS)
                ),
                access_control_allow_methods=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowMethodsArgs(
                    items=_ALL_METHODS
                ),
                access_control_allow_origins=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowOriginsArgs(
                    items=list(args.cors_allowed_origins)
                ),
                access_control_max_age_sec=CORS_MAX_AGE_SECONDS,
                origin_override=True,
            )
        return aws.cloudfront.ResponseHeadersPolicy(
            name,
            comment="paved: HSTS, CSP, no sniffing, no framing, strict referrer, no powerful features",
            security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=content_security_policy, override=True
                ),
                content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True
                ),
                referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="strict-origin-when-cross-origin", override=True
                ),
            ),
            custom_headers_config=aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(
                items=[
                    aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                        header="Permissions-Policy",
                        value="camera=(), microphone=(), geolocation=(), payment=()",
                        override=True,
                    )
                ]
            ),
            cors_config=cors,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _logging(
        self,
        name: str,
        distribution: aws.cloudfront.Distribution,
        args: EdgeArgs,
        provider: aws.Provider,
        logs_key_arn: pulumi.Input[str],
    ) -> None:
        # Standard logging v2 (CloudWatch vended logs): no ACL-enabled bucket needed. CloudFront is global
        # and its delivery source lives in us-east-1:
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=provider)
        group_name = f"/paved/{pulumi.get_stack()}/{name}/access-logs"
        group = log_group(
            f"{name}-access-logs",
            name=group_name,
            kms_key_arn=logs_key_arn,
            retention_days=args.waf_log_retention_days,
            protect=self._keep_stateful,
            tags=self._tags,
            parent=self,
            provider=provider,
        )
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-access-logs",
            name=f"{pulumi.get_stack()}-{name}-access-logs",
            log_type="ACCESS_LOGS",
            resource_arn=distribution.arn,
            tags=self._tags,
            opts=in_us_east_1,
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-access-logs",
            name=f"{pulumi.get_stack()}-{name}-access-logs",
            output_format="json",
            delivery_destination_configuration=aws.cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                destination_resource_arn=group.arn
            ),
            tags=self._tags,
            opts=in_us_east_1,
        )
        # The delivery writes through delivery.logs.amazonaws.com: the group's resource policy comes first.
        writable = log_delivery_policy(f"{name}-access-logs", [group_name], opts=in_us_east_1)
        aws.cloudwatch.LogDelivery(
            f"{name}-access-logs",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            tags=self._tags,
            opts=pulumi.ResourceOptions.merge(in_us_east_1, pulumi.ResourceOptions(depends_on=[writable])),
        )

    def _dns(
        self,
        name: str,
        zone_id: str,
        origin_host: str,
        alb_dns_name: pulumi.Input[str],
        alb_zone_id: pulumi.Input[str],
        distribution: aws.cloudfront.Distribution,
        domain: str,
        apps: Sequence["AppArgs"],
    ) -> None:
        here = pulumi.ResourceOptions(parent=self)
        aws.route53.Record(
            f"{name}-origin",
            zone_id=zone_id,
            name=origin_host,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=alb_dns_name, zone_id=alb_zone_id, evaluate_target_health=True
                )
            ],
            opts=here,
        )
        for host in viewer_hosts(domain, apps):
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-{host}-{record_type.lower()}",
                    zone_id=zone_id,
                    name=host,
                    type=record_type,
                    aliases=[
                        aws.route53.RecordAliasArgs(
                            name=distribution.domain_name,
                            zone_id=CLOUDFRONT_ZONE_ID,
                            evaluate_target_health=False,
                        )
                    ],
                    opts=here,
                )
