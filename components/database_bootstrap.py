"""The in-cluster Job that creates the apps' PostgreSQL roles, schemas and grants.

The deploy runner cannot reach the database, and should not: the Job runs in the cluster, in its own
namespace, as the master user (read from Secrets Manager by External Secrets with the Job's own IRSA role),
and connects straight to the instance: the master user is not one of the proxy's users. Its script
(components/database_users.py) is idempotent and named by digest: config that adds or changes a user is a
new Job, awaited before any app that needs the roles rolls out; unchanged config leaves the finished Job.
"""

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.database_users import DatabaseUser, bootstrap_sql, script_digest
from components.iam import policy_document, service_account_role
from components.workload import (
    BOOTSTRAP_NAMESPACE,
    DNS_EGRESS,
    WorkloadContext,
    awaited_job,
    default_deny,
    restricted_container_security,
    restricted_namespace,
    secrets_read_policy,
    synced_secret,
    to_cidr,
)

meta = k8s.meta.v1
core = k8s.core.v1

_SCRIPT_PATH = "/etc/paved/bootstrap.sql"


class DatabaseBootstrap(pulumi.ComponentResource):
    """Namespace, identity, synced credentials, NetworkPolicies and the Job; `ready` is what apps wait for."""

    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        *,
        users: Sequence[DatabaseUser],
        image: str,
        host: pulumi.Input[str],
        port: int,
        database: str,
        master_secret_arn: pulumi.Input[str],
        user_secret_arns: Mapping[str, pulumi.Input[str]],
        context: WorkloadContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:workload:DatabaseBootstrap", name, None, opts)
        labels = {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/component": "database-bootstrap",
            "app.kubernetes.io/part-of": pulumi.get_project(),
            "app.kubernetes.io/managed-by": "pulumi",
        }
        namespace = restricted_namespace(BOOTSTRAP_NAMESPACE, labels, context, self)
        here = pulumi.ResourceOptions(
            parent=self, provider=context.provider, depends_on=[namespace, *context.depends_on]
        )
        metadata = meta.ObjectMetaArgs(name=name, namespace=BOOTSTRAP_NAMESPACE, labels=labels)
        role = service_account_role(
            name,
            oidc_provider_arn=context.oidc_provider_arn,
            oidc_issuer=context.oidc_issuer,
            namespace=BOOTSTRAP_NAMESPACE,
            service_account=name,
            description="Database bootstrap: reads the master and app login secrets",
            inline_policy=policy_document(
                *secrets_read_policy(context, [master_secret_arn, *user_secret_arns.values()])
            ),
            tags=context.tags,
            parent=self,
        )
        account = core.ServiceAccount(
            name,
            metadata=meta.ObjectMetaArgs(
                name=name,
                namespace=BOOTSTRAP_NAMESPACE,
                labels=labels,
                annotations={"eks.amazonaws.com/role-arn": role.arn},
            ),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions.merge(here, pulumi.ResourceOptions(depends_on=role.ready)),
        )
        master = [
            {"secretKey": key, "remoteRef": {"key": master_secret_arn, "property": field}}
            for key, field in (("PGUSER", "username"), ("PGPASSWORD", "password"))
        ]
        passwords = [
            {
                "secretKey": user.password_env,
                "remoteRef": {"key": user_secret_arns[user.role], "property": "password"},
            }
            for user in users
            if user.auth == "password"
        ]
        credentials = synced_secret(
            f"{name}-credentials",
            namespace=BOOTSTRAP_NAMESPACE,
            service_account=name,
            labels=labels,
            data=[*master, *passwords],
            context=context,
            opts=pulumi.ResourceOptions.merge(here, pulumi.ResourceOptions(depends_on=[account])),
        )
        script = bootstrap_sql(users, database=database)
        digest = script_digest(script)
        script_map = core.ConfigMap(
            f"{name}-script",
            metadata=meta.ObjectMetaArgs(
                name=f"{name}-{digest}", namespace=BOOTSTRAP_NAMESPACE, labels=labels
            ),
            data={"bootstrap.sql": script},
            immutable=True,
            opts=here,
        )
        default_deny(BOOTSTRAP_NAMESPACE, labels, here)
        k8s.networking.v1.NetworkPolicy(
            name,
            metadata=metadata,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": name}),
                policy_types=["Ingress", "Egress"],
                egress=[DNS_EGRESS, to_cidr(context.vpc_cidr, [port])],
            ),
            opts=here,
        )
        env = {
            "PGHOST": host,
            "PGPORT": str(port),
            "PGDATABASE": database,
            # TLS (rds.force_ssl refuses anything else); RDS's CA is not in the image's trust store.
            "PGSSLMODE": "require",
            "PGCONNECT_TIMEOUT": "10",
            "PGAPPNAME": name,
            "HOME": "/tmp",
        }
        job = awaited_job(
            name,
            metadata=meta.ObjectMetaArgs(
                name=f"{name}-{digest}", namespace=BOOTSTRAP_NAMESPACE, labels=labels
            ),
            service_account=name,
            container=core.ContainerArgs(
                name="psql",
                image=image,
                image_pull_policy="IfNotPresent",
                command=["psql", "--no-psqlrc", "--file", _SCRIPT_PATH],
                env=[core.EnvVarArgs(name=key, value=value) for key, value in env.items()],
                env_from=[
                    core.EnvFromSourceArgs(secret_ref=core.SecretEnvSourceArgs(name=f"{name}-credentials"))
                ],
                resources=core.ResourceRequirementsArgs(
                    requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "128Mi"}
                ),
                security_context=restricted_container_security(),
                volume_mounts=[
                    core.VolumeMountArgs(name="script", mount_path="/etc/paved", read_only=True),
                    core.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                ],
            ),
            volumes=[
                core.VolumeArgs(
                    name="script", config_map=core.ConfigMapVolumeSourceArgs(name=f"{name}-{digest}")
                ),
                core.VolumeArgs(name="tmp", empty_dir=core.EmptyDirVolumeSourceArgs(size_limit="64Mi")),
            ],
            retries=3,
            deadline_seconds=900,
            opts=pulumi.ResourceOptions.merge(
                here, pulumi.ResourceOptions(depends_on=[credentials, script_map])
            ),
        )
        self.ready = [job]
        self.register_outputs({})
