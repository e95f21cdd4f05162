"""paved: the stack's typed config, wired to the components.

Config is validated before any resource is declared: a bad stack file stops here with one error listing
every problem, and nothing is half-built.
"""

import dataclasses

import pulumi
import pulumi_aws as aws

from components.backup import Backup
from components.buckets import ServerAccessLogs
from components.cache import CACHE_PORT, Cache
from components.cdn import Cdn, viewer_hosts
from components.certificates import DnsCertificate
from components.cluster import Cluster
from components.controllers import Controllers
from components.dashboard import GLOBAL_REGION, Dashboard
from components.data_stores import DataStoreContext
from components.database import DATABASE_NAME, POSTGRES_PORT, Database
from components.database_bootstrap import DatabaseBootstrap
from components.database_users import DatabaseAccess, database_users
from components.disaster_recovery import PilotLight
from components.edge import LoadBalancer
from components.email import SesEmail
from components.kms import alerts_key, logs_key
from components.nats import Nats
from components.network import Network
from components.observability import Alerting
from components.registry import Registry
from components.secrets import AppSecrets, Keys, SecretPlacement
from components.subnets import plan_subnets
from components.uploads import Uploads
from components.uptime import CanaryVpc, UptimeCanaries
from components.waf import WebAcl
from components.workload import Workload, WorkloadContext
from paved.config import load_from_pulumi

config = load_from_pulumi()
tags = config.tags
# Stateful resources (keys, data stores, vaults) outlive any one deploy: in prod, deleting or replacing one
# needs an explicit `pulumi state unprotect`.
protect = config.is_prod

# Config refuses a pilot light without a DR region.
pilot_light = config.dr.mode == "pilot-light"
keys = Keys("keys", dr_region=config.dr_region, dr_network=pilot_light, protect=protect, tags=tags)
alerting = Alerting("alerts", config.alerts, kms_key_arn=keys.alerts.key_arn, tags=tags)
network = Network(
    "network", config.network, logs_key_arn=keys.logs.key_arn, alerting=alerting, protect=protect, tags=tags
)
placement = SecretPlacement(
    kms_key_arn=keys.secrets.key_arn,
    dr=keys.dr,
    # Secrets Manager keeps a deleted secret recoverable for 7 to 30 days.
    recovery_window_days=30 if config.is_prod else 7,
    protect=protect,
    tags=tags,
)
dr_provider = keys.dr.provider if keys.dr else None
dr_data_key_arn = keys.dr.data_key_arn if keys.dr else None
# Every bucket's S3 server access logs go to a log bucket of its own region (README, Edge tier); each is
# declared by deliver() at the end, once every bucket has joined.
access_logs = ServerAccessLogs(
    "s3-access-logs", expire_days=config.edge.access_log_retention_days, protect=protect, tags=tags
)
dr_access_logs = (
    ServerAccessLogs(
        "s3-access-logs-dr",
        expire_days=config.edge.access_log_retention_days,
        protect=protect,
        tags=tags,
        provider=dr_provider,
    )
    if dr_provider
    else None
)
data_stores = DataStoreContext(
    vpc_id=network.vpc_id,
    subnet_ids=network.isolated_subnet_ids,
    client_security_group_ids={"workloads": network.workload_security_group_id},
    data_key_arn=keys.data.key_arn,
    logs_key_arn=keys.logs.key_arn,
    secrets=placement,
    alerting=alerting,
    protect=protect,
    tags=tags,
)
# Every app that lists `database` logs in as its own role (README, "Database credentials").
users = database_users(config.apps)
database = Database(
    "database",
    config.database,
    store=data_stores,
    dr_provider=dr_provider,
    dr_data_key_arn=dr_data_key_arn,
    users=users,
)
cache = Cache("cache", config.cache, store=data_stores)
# The ALB certificate: DNS-validated in the stack's zone, or the one from config (DomainArgs needs one).
if config.domain.hosted_zone_id is not None:
    certificate = DnsCertificate(
        "certificate", domain=config.domain.name, zone_id=config.domain.hosted_zone_id, tags=tags
    )
    alb_certificate_arn: pulumi.Input[str] = certificate.certificate_arn
else:
    alb_certificate_arn = str(config.domain.certificate_arn)
# Behind an allow-list (staging: the office only) the uptime canaries run in the VPC, and the edge admits the
# NAT gateways' addresses they leave through.
canaries_in_vpc = config.uptime.enabled and not config.edge.admits_everyone
probe_sources = (
    [address.apply(lambda ip: f"{ip}/32") for address in network.nat_public_ips] if canaries_in_vpc else []
)
load_balancer = LoadBalancer(
    "alb",
    config.edge,
    config.apps,
    vpc_id=network.vpc_id,
    subnet_ids=network.public_subnet_ids,
    workload_security_group_id=network.workload_security_group_id,
    certificate_arn=alb_certificate_arn,
    secrets=placement,
    alerting=alerting,
    access_logs=access_logs,
    protect=protect,
    tags=tags,
    probe_sources=probe_sources,
)
# Behind CloudFront the ALB sees CloudFront's addresses, so client-IP rules belong on the CloudFront ACL.
alb_waf = WebAcl(
    "alb-waf",
    config.edge,
    scope="REGIONAL",
    client_ip_rules=not config.edge.cloudfront,
    logs_key_arn=keys.logs.key_arn,
    alerting=alerting,
    protect=protect,
    tags=tags,
    probe_sources=probe_sources,
)
alb_waf.associate("alb", load_balancer.alb_arn)

# Uploads go from the browser straight to S3 (README, "Uploads"); with CloudFront they are also read through
# it, so the bucket and key policies name the distribution, which needs the bucket: a deferred ARN.
uploads = None
served_uploads = None
if config.uploads.enabled:
    distribution_arn = None
    if config.edge.cloudfront:
        distribution_arn, served_uploads = pulumi.deferred_output()
    uploads = Uploads(
        "uploads",
        config.uploads,
        origins=config.uploads.origins(viewer_hosts(config.domain.name, config.apps)),
        region=config.region,
        distribution_arn=distribution_arn,
        access_logs=access_logs,
        protect=protect,
        tags=tags,
    )

# SES is opt-in (README, "Email"); config refuses it without a hosted zone for its records.
email = (
    SesEmail(
        "email",
        config.email,
        domain=config.email.sending_domain(config.domain.name),
        zone_id=str(config.domain.hosted_zone_id),
        region=config.region,
        alerting=alerting,
        protect=protect,
        tags=tags,
    )
    if config.email.enabled
    else None
)

cdn = None
if config.edge.cloudfront:
    # CloudFront's certificate, its WAF, its log delivery and its metrics all live in us-east-1, and so do
    # the key and topic its alarms need.
    us_east_1 = aws.Provider("us-east-1", region=GLOBAL_REGION)
    in_us_east_1 = pulumi.ResourceOptions(provider=us_east_1)
    global_logs = logs_key(
        "logs-global", tags=tags, opts=pulumi.ResourceOptions(provider=us_east_1, protect=protect)
    )
    global_alerts = alerts_key(
        "alerts-global", tags=tags, opts=pulumi.ResourceOptions(provider=us_east_1, protect=protect)
    )
    global_alerting = Alerting(
        "alerts-global", config.alerts, kms_key_arn=global_alerts.key_arn, tags=tags, opts=in_us_east_1
    )
    if config.domain.hosted_zone_id is not None:
        cdn_certificate_arn: pulumi.Input[str] = DnsCertificate(
            "cdn-certificate",
            domain=config.domain.name,
            zone_id=config.domain.hosted_zone_id,
            validation_fqdn=certificate.validation_fqdn,
            tags=tags,
            opts=in_us_east_1,
        ).certificate_arn
    else:
        cdn_certificate_arn = str(config.domain.cloudfront_certificate_arn)
    cdn_waf = WebAcl(
        "cdn-waf",
        config.edge,
        scope="CLOUDFRONT",
        client_ip_rules=True,
        logs_key_arn=global_logs.key_arn,
        alerting=global_alerting,
        protect=protect,
        tags=tags,
        probe_sources=probe_sources,
        opts=in_us_east_1,
    )
    cdn = Cdn(
        "cdn",
        config.edge,
        config.apps,
        domain=config.domain.name,
        hosted_zone_id=config.domain.hosted_zone_id,
        certificate_arn=cdn_certificate_arn,
        web_acl_arn=cdn_waf.web_acl_arn,
        alb_dns_name=load_balancer.alb_dns_name,
        alb_zone_id=load_balancer.alb_zone_id,
        origin_secret=load_balancer.origin_secret,
        global_provider=us_east_1,
        dr_provider=dr_provider,
        global_logs_key_arn=global_logs.key_arn,
        global_alerting=global_alerting,
        access_logs=access_logs,
        dr_access_logs=dr_access_logs,
        protect=protect,
        tags=tags,
        uploads_origin=uploads.regional_domain_name if uploads else None,
    )
    if served_uploads is not None:
        served_uploads(cdn.distribution_arn)
app_secrets = AppSecrets("app-secrets", config.secrets, placement=placement, cache_url=cache.url)
cronjob_apps = [app.name for app in config.apps if app.kind == "cronjob"]
cluster = Cluster(
    "cluster",
    config.cluster,
    vpc_id=network.vpc_id,
    subnet_ids=network.private_subnet_ids,
    workload_security_group_id=network.workload_security_group_id,
    secrets_key_arn=keys.secrets.key_arn,
    logs_key_arn=keys.logs.key_arn,
    alerting=alerting,
    protect=protect,
    tags=tags,
    metrics_targets=[target for app in config.apps if (target := app.metrics_target)],
    cronjob_apps=cronjob_apps,
    volume_zones=config.network.az_count if config.nats.enabled else None,
)
controllers = Controllers(
    "controllers",
    cluster=cluster,
    kubernetes_version=config.cluster.version,
    vpc_id=network.vpc_id,
    target_group_arns=load_balancer.target_group_arns,
    tags=tags,
    cronjobs=bool(cronjob_apps),
)
subnet_plan = plan_subnets(config.network.cidr, config.network.az_count)
workload_context = WorkloadContext(
    provider=cluster.provider,
    depends_on=[*cluster.ready, *controllers.ready],
    kubernetes_version=config.cluster.version,
    cluster_name=cluster.cluster_name,
    oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_issuer=cluster.oidc_issuer,
    region=config.region,
    vpc_cidr=subnet_plan.vpc_cidr,
    load_balancer_cidrs=subnet_plan.public,
    data_store_ports=[POSTGRES_PORT, CACHE_PORT],
    secrets_key_arn=keys.secrets.key_arn,
    secret_arns=app_secrets.secret_arns,
    secret_names=app_secrets.secret_names,
    deregistration_delay_seconds=config.edge.deregistration_delay_seconds,
    secret_refresh_minutes=config.cluster.secret_refresh_minutes,
    alerting=alerting,
    tags=tags,
    uploads=uploads.access if uploads else None,
    email=email.access if email else None,
)
if users:
    bootstrap = DatabaseBootstrap(
        "database-bootstrap",
        users=users,
        image=config.database.bootstrap_image,
        host=database.endpoint,
        port=POSTGRES_PORT,
        database=DATABASE_NAME,
        master_secret_arn=database.master_secret_arn,
        user_secret_arns=database.user_secret_arns,
        context=workload_context,
    )
    workload_context = dataclasses.replace(
        workload_context,
        database=DatabaseAccess(
            host=database.client_host,
            port=POSTGRES_PORT,
            name=DATABASE_NAME,
            tls=database.client_tls,
            users={user.app: user for user in users},
            secret_arns=database.user_secret_arns,
            connect_arns=database.user_connect_arns,
            ready=bootstrap.ready,
        ),
    )
if config.nats.enabled:
    nats = Nats(
        "nats",
        config.nats,
        config.apps,
        context=workload_context,
        secrets=placement,
        volume_key_arn=cluster.volume_key_arn,
        protect=protect,
    )
    workload_context = dataclasses.replace(workload_context, nats=nats.access)
registry = Registry(
    "registry",
    config.registry,
    apps=[app.name for app in config.apps],
    kms_key_arn=keys.data.key_arn,
    protect=protect,
    tags=tags,
)
workloads = [
    Workload(
        app,
        workload_context,
        target_group_arn=load_balancer.target_group_arns.get(app.name),
        image=registry.image(app.image),
    )
    for app in config.apps
]
backup = (
    Backup(
        "backup",
        config.backup,
        database_arn=database.instance_arn,
        data_key_arn=keys.data.key_arn,
        dr_provider=dr_provider,
        dr_data_key_arn=dr_data_key_arn,
        vpc_id=network.vpc_id,
        restore_subnet_group_name=database.subnet_group_name,
        alerting=alerting,
        protect=protect,
        tags=tags,
    )
    if config.backup.enabled
    else None
)
# The DR region's restore target: a restore from the replicated automated backups lands in it.
dr_network = (
    PilotLight(
        "dr",
        config.dr,
        database=config.database,
        az_count=config.network.az_count,
        flow_log_retention_days=config.network.flow_log_retention_days,
        logs_key_arn=keys.dr.data_key_arn,
        protect=protect,
        tags=tags,
        opts=pulumi.ResourceOptions(provider=keys.dr.provider),
    )
    if pilot_light and keys.dr is not None
    else None
)
uptime = (
    UptimeCanaries(
        "uptime",
        config.uptime,
        config.apps,
        domain=config.domain.name,
        logs_key_arn=keys.logs.key_arn,
        access_logs=access_logs,
        alerting=alerting,
        vpc=CanaryVpc(network.vpc_id, network.private_subnet_ids) if canaries_in_vpc else None,
        after=[*workloads, alb_waf, *([cdn, cdn_waf] if cdn else [])],
        protect=protect,
        tags=tags,
    )
    if config.uptime.enabled and any(app.is_public for app in config.apps)
    else None
)
access_log_buckets = [logs.deliver() for logs in (access_logs, dr_access_logs) if logs is not None]
dashboard = Dashboard(
    "dashboard",
    {
        "Edge": [
            *(uptime.widgets if uptime else []),
            *(cdn.widgets if cdn else []),
            *(cdn_waf.widgets if cdn else []),
            *load_balancer.widgets,
            *alb_waf.widgets,
        ],
        "Apps": [*cluster.widgets, *(widget for workload in workloads for widget in workload.widgets)],
        "Data": [*database.widgets, *cache.widgets],
    },
)

pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
pulumi.export("dr_region", config.dr_region)
pulumi.export("dr_mode", config.dr.mode if config.dr_region else None)
pulumi.export("dr_vpc_id", dr_network.vpc_id if dr_network else None)
pulumi.export("dr_database_subnet_group", dr_network.subnet_group_name if dr_network else None)
pulumi.export("dr_database_security_group_id", dr_network.security_group_id if dr_network else None)
pulumi.export("dr_database_parameter_group", dr_network.parameter_group_name if dr_network else None)
pulumi.export("network_vpc_id", network.vpc_id)
pulumi.export("network_availability_zones", network.availability_zones)
pulumi.export("network_public_subnet_ids", network.public_subnet_ids)
pulumi.export("network_private_subnet_ids", network.private_subnet_ids)
pulumi.export("network_isolated_subnet_ids", network.isolated_subnet_ids)
pulumi.export("network_flow_log_group_name", network.flow_log_group_name)
pulumi.export("network_workload_security_group_id", network.workload_security_group_id)
pulumi.export("alerts_topic_arn", alerting.topic_arn)
pulumi.export("dashboard_name", dashboard.dashboard_name)
pulumi.export("uptime_canary_names", uptime.canary_names if uptime else {})
pulumi.export("kms_logs_key_arn", keys.logs.key_arn)
pulumi.export("kms_alerts_key_arn", keys.alerts.key_arn)
pulumi.export("kms_data_key_arn", keys.data.key_arn)
pulumi.export("kms_secrets_key_arn", keys.secrets.key_arn)
pulumi.export("database_identifier", database.instance_identifier)
pulumi.export("database_endpoint", database.endpoint)
pulumi.export("database_reader_endpoints", database.reader_endpoints)
pulumi.export("database_proxy_endpoint", database.proxy_endpoint)
pulumi.export("database_master_secret_arn", database.master_secret_arn)
pulumi.export("cache_primary_endpoint", cache.primary_endpoint)
pulumi.export("cache_reader_endpoint", cache.reader_endpoint)
pulumi.export("cache_auth_secret_arn", cache.auth_secret_arn)
pulumi.export("secrets_app_secret_arns", app_secrets.secret_arns)
pulumi.export("registry_repository_urls", registry.repository_urls)
pulumi.export("edge_alb_arn", load_balancer.alb_arn)
pulumi.export("edge_alb_dns_name", load_balancer.alb_dns_name)
pulumi.export("edge_certificate_arn", alb_certificate_arn)
pulumi.export("edge_alb_target_group_arns", load_balancer.target_group_arns)
pulumi.export("edge_alb_log_bucket", load_balancer.log_bucket_name)
pulumi.export("edge_alb_web_acl_arn", alb_waf.web_acl_arn)
pulumi.export("cdn_distribution_id", cdn.distribution_id if cdn else None)
pulumi.export("cdn_distribution_domain_name", cdn.distribution_domain_name if cdn else None)
pulumi.export("cdn_certificate_arn", cdn_certificate_arn if cdn else None)
pulumi.export("cdn_assets_bucket", cdn.assets_bucket_name if cdn else None)
pulumi.export("uploads_bucket", uploads.bucket_name if uploads else None)
pulumi.export("email_events_topic_arn", email.topic_arn if email else None)
pulumi.export("s3_access_log_buckets", [bucket.bucket_name for bucket in access_log_buckets if bucket])
pulumi.export("cluster_name", cluster.cluster_name)
pulumi.export("cluster_endpoint", cluster.cluster_endpoint)
pulumi.export("workload_namespaces", {workload.app_name: workload.namespace for workload in workloads})
pulumi.export("backup_vault_arn", backup.vault_arn if backup else None)
pulumi.export("backup_dr_vault_arn", backup.dr_vault_arn if backup else None)
# Recovery objectives this stack is built for; README, "Backup and recovery", has the restore paths.
pulumi.export(
    "recovery_objectives",
    {
        "rpo": "≤ 5 minutes (RDS point-in-time recovery: transaction logs shipped every 5 minutes)",
        "pitr_days": config.database.backup_retention_days,
        "rto": "about 1 hour in the primary region (restore to a new instance); "
        + (
            "a few hours in the DR region from replicated automated backups"
            if config.dr_region
            else "no DR region"
        ),
        "restore_tests": "weekly (AWS Backup restore testing)" if config.backup.restore_testing else "none",
    },
)
