"""NATS with JetStream, opt-in (`paved:nats.enabled`): no AWS service runs NATS (Amazon MQ runs ActiveMQ and
RabbitMQ only), so it runs in the cluster from the official `nats` chart, pinned.

- Three (or five) servers in a JetStream cluster, spread over the zones, each with a gp3 volume of the
  StorageClass paved writes: encrypted with the cluster's `cluster-volumes` key, bound where the pod lands
  (`WaitForFirstConsumer`). EBS volumes are zonal, so with NATS on, the on-demand nodes are one group per
  zone (components/cluster.py), and the autoscaler can add a node in the zone a volume lives in.
- One NATS user per app that lists `nats: true`, its password generated into Secrets Manager; the app gets
  `NATS_URL` (`tls://`) and `NATS_CA` from its own ExternalSecret, the servers read every password through
  one of their own.
- TLS on the client port and on the routes, from a CA of the stack's own (below). With `tls {}` on the client
  port the server refuses plain-text clients (nats.docs, developing-with-nats/intro-2/tls.md: "a
  nats-server will require all clients to connect with TLS"; `allow_non_tls` is not set). Client
  certificates are not asked for (`verify` off): each app still logs in with its own password. Routes verify
  both ends (nats.docs, nats-server/configuration/clustering/cluster_tls.md), so the one server certificate
  is also a client certificate.
- NetworkPolicies: the servers take 4222 from the listing apps' pods only, and talk among themselves on 6222.
- The chart writes no securityContext and no NetworkPolicy, and turns natsBox on: paved merges the restricted
  security context in, writes the policies, and turns natsBox off. Its PodDisruptionBudget (maxUnavailable 1)
  stays on.

Why the Pulumi `tls` provider issues the certificates: it needs nothing running, and its CA outlives every
run in the state. An ECDSA P-256 CA, valid ten years, signs the servers' certificate
(`certificateValidityDays`); a `pulumi up` in the last third of the certificate's life, or in the CA's last
year, replaces it (`early_renewal_hours`: a certificate no `pulumi up` reaches in that window expires).
cert-manager would renew on its own, but is one more controller, with CRDs and webhooks, to run and upgrade
for three servers; AWS Private CA costs $400 a month per general-purpose CA, and its $50 short-lived mode
issues certificates of at most 7 days, which need a renewer in the cluster again
(aws.amazon.com/private-ca/pricing).

The private keys are in the Pulumi state as secrets (the provider marks them sensitive): outputs of their
`tls.PrivateKey`, inputs of the resources that sign with them. The certificate, its key and the CA go
write-only into a Secrets Manager secret under the stack's secrets key, from where External Secrets syncs
them into the Secret the chart mounts, as it syncs the passwords: no SecretVersion or Kubernetes Secret in
the state adds a copy. A renewed certificate reaches the mounted files within `secretRefreshMinutes`; the
chart's config reloader watches them (templates/_helpers.tpl `nats.reloaderConfig` hands it every
`cert_file`, `key_file` and `ca_file`) and signals the server, which reloads its TLS without a restart
(nats-io/k8s#571). The servers' key is kept across renewals. A new CA (in its tenth year) reaches the apps
as a changed `NATS_CA`, and Reloader restarts them; until both sides have synced, connections fail.

Chart facts are from nats-io/k8s at tag nats-2.14.2 (helm/charts/nats), vendored in
tests/fixtures/charts/nats-2.14.2 and rendered with paved's values by tests/test_nats.py.
"""

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls
from pydantic import Field

from components.controllers import RELOAD_ON_SECRETS, Chart
from components.iam import policy_document, service_account_role
from components.observability import AlarmRule
from components.secrets import SecretPlacement
from components.workload import (
    DNS_EGRESS,
    NATS_CA_ENV,
    NATS_URL_ENV,
    AppArgs,
    NatsAccess,
    Resources,
    WorkloadContext,
    default_deny,
    external_secret,
    pods_in,
    restricted_container_security,
    restricted_namespace,
    restricted_pod_security,
    secret_store,
    secrets_read_policy,
)
from paved.errors import ConfigProblem, Hint
from paved.fields import ConfigModel, RuleContext, Version

meta = k8s.meta.v1
networking = k8s.networking.v1

NATS_CHART = Chart("nats", "2.14.2", "https://nats-io.github.io/k8s/helm/charts/", "nats", "nats")
NATS_PORT = 4222
# The Service clients reach (the chart's `service`, named after the release) and, for routes, the headless
# one (`headlessService`, "<release>-headless"; templates/_helpers.tpl).
NATS_HOST = f"{NATS_CHART.name}.{NATS_CHART.namespace}.svc.cluster.local"
HEADLESS_SERVICE = f"{NATS_CHART.name}-headless"
# Routes between the servers of the cluster (values.yaml `config.cluster.port`).
CLUSTER_PORT = 6222
# The chart's selector labels (templates/_helpers.tpl, nats.selectorLabels) for release `nats`.
NATS_POD_LABELS = {
    "app.kubernetes.io/name": "nats",
    "app.kubernetes.io/instance": NATS_CHART.name,
    "app.kubernetes.io/component": "nats",
}
STORAGE_CLASS = "paved-nats-gp3"
# The Secret in the NATS namespace that holds every app's password, read by the servers' environment.
USERS_SECRET = "nats-users"
# The Secret with the servers' certificate, its key and the CA, which the chart mounts for the client port,
# the routes and `tlsCA`; its keys are the chart's default file names (values.yaml `tls.cert`, `tls.key`,
# `tlsCA.key`).
TLS_SECRET = "nats-tls"
CERT_FILE, KEY_FILE, CA_FILE = "tls.crt", "tls.key", "ca.crt"
CA_VALIDITY_DAYS = 3650
# The service account External Secrets reads the passwords and the TLS secret with (IRSA); no pod runs as it.
SECRETS_READER = "nats-secrets"
_ZONE = "topology.kubernetes.io/zone"
_HOST = "kubernetes.io/hostname"


class NatsAlarms(ConfigModel):
    restarts: AlarmRule  # container restarts of the NATS servers, per period
    pods_missing: AlarmRule  # servers not running, out of `replicas`


class NatsArgs(ConfigModel):
    enabled: bool
    replicas: Annotated[
        int,
        Field(ge=3, le=5),
        Hint("3 or 5: JetStream keeps R3 streams while a majority of servers is up"),
    ]
    storage_gib: Annotated[
        int, Field(ge=1, le=16384), Hint("each server's gp3 volume, 1 to 16384 GiB (EBS's gp3 range)")
    ]
    resources: Resources
    password_version: Version
    # At most a year: a certificate signed in the CA's last year (its renewal window) then expires before
    # the CA does.
    certificate_validity_days: Annotated[
        int,
        Field(ge=30, le=365),
        Hint("30 to 365 days; a pulumi up in the last third of the certificate's life renews it"),
    ]
    alarms: NatsAlarms

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        yield from self.resources.violations(f"{path}.resources", ctx)
        # A RAFT group of an even size tolerates no more failures than one server fewer:
        # https://docs.nats.io/running-a-nats-service/configuration/clustering/jetstream_clustering
        if self.replicas % 2 == 0:
            yield ConfigProblem(
                f"{path}.replicas",
                f"must be odd, got {self.replicas}",
                "use 3 or 5: a fourth server adds no fault tolerance to a JetStream cluster",
            )
        if self.alarms.pods_missing.threshold >= self.replicas:
            yield ConfigProblem(
                f"{path}.alarms.podsMissing.threshold",
                f"must be below replicas ({self.replicas}), got {self.alarms.pods_missing.threshold:g}",
                "it counts the servers that may be missing before the alarm fires: 0 alarms on the first",
            )


def nats_violations(apps: Mapping[int, AppArgs], nats: NatsArgs | None) -> Iterator[ConfigProblem]:
    """Apps that list NATS need it on, and get NATS_URL and NATS_CA from paved, never from `secrets` or
    `env`."""
    for index, app in apps.items():
        if not app.nats:
            continue
        path = f"paved:apps[{index}]"
        if nats is not None and not nats.enabled:
            yield ConfigProblem(
                f"{path}.nats", "lists NATS, which is off", "set paved:nats.enabled: true, or remove nats"
            )
        for env in (NATS_URL_ENV, NATS_CA_ENV):
            for where, names in (("secrets", app.secrets), (f"env.{env}", app.env)):
                if env in names:
                    yield ConfigProblem(
                        f"{path}.{where}",
                        f"{env} is built by paved for an app with `nats`",
                        f"remove {env} here; paved gives the app its own NATS user, URL and CA certificate",
                    )


def nats_url(user: str, password: str) -> str:
    """An app's NATS_URL. `tls://` makes the clients that read the scheme (nats.go, nats.net) refuse a server
    that offers no TLS; the password has no characters a URL must escape (`special=False`)."""
    return f"tls://{user}:{password}@{NATS_HOST}:{NATS_PORT}"


def _password_env(app: str) -> str:
    return f"NATS_PASSWORD_{app.upper().replace('-', '_')}"


class Nats(pulumi.ComponentResource):
    access: NatsAccess

    def __init__(
        self,
        name: str,
        args: NatsArgs,
        apps: Sequence[AppArgs],
        *,
        context: WorkloadContext,
        secrets: SecretPlacement,
        volume_key_arn: pulumi.Input[str],
        protect: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:nats:Nats", name, None, opts)
        self._args = args
        self._context = context
        users = [app.name for app in apps if app.nats]
        namespace_name = NATS_CHART.namespace
        labels = {"app.kubernetes.io/part-of": pulumi.get_project(), "app.kubernetes.io/managed-by": "pulumi"}
        namespace = restricted_namespace(namespace_name, labels, context, self)
        in_namespace = pulumi.ResourceOptions(
            parent=self, provider=context.provider, depends_on=[namespace, *context.depends_on]
        )
        storage_class = self._storage_class(volume_key_arn, protect, labels)
        tls_arn, ca_pem = self._certificates(secrets)
        secret_arns = {user: self._user_secret(user, secrets, ca_pem) for user in users}
        synced = self._synced_secrets(secret_arns, tls_arn, labels, in_namespace)
        release = k8s.helm.v3.Release(
            name,
            name=NATS_CHART.name,
            chart=NATS_CHART.name,
            version=NATS_CHART.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=NATS_CHART.repository),
            namespace=namespace_name,
            create_namespace=False,
            values=self._values(users),
            # Wait for the servers: an app's first connection needs them. A server may wait for a new node
            # (and its volume) first, longer than the provider's 300 s default, after which `atomic` would
            # uninstall the release.
            skip_await=False,
            atomic=True,
            timeout=900,
            opts=pulumi.ResourceOptions.merge(
                in_namespace, pulumi.ResourceOptions(depends_on=[storage_class, *synced])
            ),
        )
        self._network_policies(users, labels, in_namespace)
        self._alarms()
        self.access = NatsAccess(namespace_name, NATS_POD_LABELS, NATS_PORT, secret_arns, [release])
        self.register_outputs({"secret_arns": secret_arns})

    def _storage_class(
        self, volume_key_arn: pulumi.Input[str], protect: bool, labels: Mapping[str, str]
    ) -> k8s.storage.v1.StorageClass:
        # Parameters of the EBS CSI driver: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md
        # (kmsKeyId is the key's full ARN). WaitForFirstConsumer creates the volume in the zone the pod is
        # scheduled to, not in a zone of its own choosing:
        # https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode
        return k8s.storage.v1.StorageClass(
            STORAGE_CLASS,
            metadata=meta.ObjectMetaArgs(name=STORAGE_CLASS, labels=dict(labels)),
            provisioner="ebs.csi.aws.com",
            parameters={
                "type": "gp3",
                "csi.storage.k8s.io/fstype": "ext4",
                "encrypted": "true",
                "kmsKeyId": volume_key_arn,
            },
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            # In prod a deleted PersistentVolumeClaim leaves its volume (and the streams on it) behind.
            reclaim_policy="Retain" if protect else "Delete",
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._context.provider, depends_on=list(self._context.depends_on)
            ),
        )

    def _certificates(self, secrets: SecretPlacement) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The CA and the servers' certificate, in the secret `server-tls`, `<stack>/nats-tls`: apart from
        the users' `nats-<app>`, `nats/<app>`, whose names any app may take. Returns that secret's ARN and
        the CA certificate."""
        child = pulumi.ResourceOptions(parent=self)
        # P-256: what Go's crypto/tls (the server) and Node's TLS (the apps) both take, small and fast.
        ca_key = tls.PrivateKey("nats-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            "nats-ca",
            private_key_pem=ca_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{pulumi.get_project()} {pulumi.get_stack()} NATS CA"
            ),
            is_ca_certificate=True,
            allowed_uses=["cert_signing", "crl_signing"],
            validity_period_hours=CA_VALIDITY_DAYS * 24,
            early_renewal_hours=365 * 24,
            opts=child,
        )
        server_key = tls.PrivateKey("nats-server", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        service = f"{NATS_CHART.name}.{NATS_CHART.namespace}"
        request = tls.CertRequest(
            "nats-server",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=NATS_HOST),
            # The service's names as seen from any namespace, and each server's name on the headless service,
            # which the routes dial (`routeURLs.useFQDN`; the chart's README, "TLS Considerations").
            dns_names=[
                NATS_CHART.name,
                service,
                f"{service}.svc",
                NATS_HOST,
                f"*.{HEADLESS_SERVICE}.{NATS_CHART.namespace}.svc.cluster.local",
            ],
            opts=child,
        )
        validity_hours = self._args.certificate_validity_days * 24
        server = tls.LocallySignedCert(
            "nats-server",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            # client_auth: a route's dialing server presents the same certificate.
            allowed_uses=["digital_signature", "server_auth", "client_auth"],
            validity_period_hours=validity_hours,
            early_renewal_hours=validity_hours // 3,
            opts=child,
        )
        secret = secrets.secret(
            "server-tls",
            path="nats-tls",
            description="NATS servers: TLS certificate, its key and the CA",
            rotation="renewed by pulumi up: paved:nats.certificateValidityDays",
            parent=self,
        )
        # One-word properties: External Secrets reads a property as a gjson path, where "tls.crt" nests.
        value = pulumi.Output.json_dumps(
            {"cert": server.cert_pem, "key": server_key.private_key_pem, "ca": ca.cert_pem}
        )
        version = aws.secretsmanager.SecretVersion(
            "server-tls",
            secret_id=secret.id,
            # Write-only, so this resource's state holds no key (the PrivateKey's does, as a secret). Every
            # new value comes with a new server certificate, whose start is the version that sends it.
            secret_string_wo=pulumi.Output.secret(value),
            secret_string_wo_version=server.validity_start_time.apply(
                lambda start: int(datetime.fromisoformat(start).timestamp())
            ),
            opts=child,
        )
        # The ARN once a value is there: an ExternalSecret synced before it would fail its first read.
        return pulumi.Output.all(secret.arn, version.id).apply(lambda done: done[0]), ca.cert_pem

    def _user_secret(
        self, user: str, secrets: SecretPlacement, ca_pem: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """The app's NATS password, the URL that carries it and the CA certificate: `<stack>/nats/<app>`."""
        password = random.RandomPassword(
            f"nats-{user}",
            length=48,
            special=False,  # it goes into a URL and into the server's config unquoted
            keepers={"version": str(self._args.password_version)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret = secrets.secret(
            f"nats-{user}",
            path=f"nats/{user}",
            description=f"NATS user {user}: its password and NATS_URL",
            rotation="raise paved:nats.passwordVersion",
            parent=self,
        )
        value = pulumi.Output.all(password.result, ca_pem).apply(
            lambda parts: json.dumps(
                {
                    "password": parts[0],
                    "url": nats_url(user, parts[0]),
                    "ca": parts[1],
                }
            )
        )
        version = aws.secretsmanager.SecretVersion(
            f"nats-{user}",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.all(secret.arn, version.id).apply(lambda done: done[0])

    def _synced_secrets(
        self,
        secret_arns: Mapping[str, pulumi.Output[str]],
        tls_arn: pulumi.Output[str],
        labels: Mapping[str, str],
        in_namespace: pulumi.ResourceOptions,
    ) -> list[k8s.apiextensions.CustomResource]:
        """The TLS secret the chart mounts and every app's password (the Secret the servers' environment
        reads), synced by External Secrets with a service account of the NATS namespace that may read these
        secrets and no other."""
        context = self._context
        role = service_account_role(
            "nats-secrets",
            oidc_provider_arn=context.oidc_provider_arn,
            oidc_issuer=context.oidc_issuer,
            namespace=NATS_CHART.namespace,
            service_account=SECRETS_READER,
            description="NATS: reads its TLS secret and its users' passwords",
            inline_policy=policy_document(*secrets_read_policy(context, [tls_arn, *secret_arns.values()])),
            tags=context.tags,
            parent=self,
        )
        account = k8s.core.v1.ServiceAccount(
            SECRETS_READER,
            metadata=meta.ObjectMetaArgs(
                name=SECRETS_READER,
                namespace=NATS_CHART.namespace,
                labels=dict(labels),
                annotations={"eks.amazonaws.com/role-arn": role.arn},
            ),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=role.ready)),
        )
        opts = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[account]))
        namespace = NATS_CHART.namespace
        store = secret_store(
            f"{SECRETS_READER}-store",
            namespace=namespace,
            service_account=SECRETS_READER,
            labels=labels,
            context=context,
            opts=opts,
        )
        contents = {
            TLS_SECRET: [
                {"secretKey": file, "remoteRef": {"key": tls_arn, "property": prop}}
                for file, prop in ((CERT_FILE, "cert"), (KEY_FILE, "key"), (CA_FILE, "ca"))
            ],
            USERS_SECRET: [
                {"secretKey": _password_env(user), "remoteRef": {"key": arn, "property": "password"}}
                for user, arn in secret_arns.items()
            ],
        }
        return [
            external_secret(
                name,
                namespace=namespace,
                service_account=SECRETS_READER,
                store=store,
                labels=labels,
                data=data,
                context=context,
                opts=opts,
            )
            for name, data in contents.items()
            if data  # no users, no passwords
        ]

    def _values(self, users: Sequence[str]) -> dict[str, Any]:
        args = self._args
        resources = args.resources
        spread = {
            # Keyed by topologyKey; the chart adds the selector labels (files/stateful-set/pod-template.yaml).
            # Zones as even as their count allows (with three, none holds a majority). On nodes, minDomains
            # counts too few nodes as a zero, so a server waits for a node of its own (the autoscaler adds
            # one) rather than join another on it: one node lost is never quorum lost. minDomains is GA
            # since Kubernetes 1.30: https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
            _ZONE: {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"},
            _HOST: {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule", "minDomains": args.replicas},
        }
        # The same Secret for the client port and the routes; `tlsCA` adds its CA as `ca_file` to both
        # `tls` blocks (files/config/tls.yaml), which the routes verify each other with.
        tls_files = {"enabled": True, "secretName": TLS_SECRET, "cert": CERT_FILE, "key": KEY_FILE}
        return {
            "tlsCA": {"enabled": True, "secretName": TLS_SECRET, "key": CA_FILE},
            "config": {
                "nats": {"tls": tls_files},
                "cluster": {
                    "enabled": True,
                    "replicas": args.replicas,
                    # Routes dial nats-<n>.nats-headless.nats.svc.cluster.local, the name the certificate
                    # holds a wildcard for, rather than the short nats-<n>.nats-headless.
                    "routeURLs": {"useFQDN": True},
                    "tls": tls_files,
                },
                "jetstream": {
                    "enabled": True,
                    "fileStore": {
                        "pvc": {"size": f"{args.storage_gib}Gi", "storageClassName": STORAGE_CLASS}
                    },
                },
                # `<< $VAR >>` is written unquoted into nats.conf, where NATS reads $VAR from the
                # environment (the chart's README, "NATS Config Units and Variables").
                "merge": {
                    "authorization": {
                        "users": [
                            {"user": user, "password": f"<< ${_password_env(user)} >>"} for user in users
                        ]
                    }
                }
                if users
                else {},
            },
            "container": {
                "env": {
                    _password_env(user): {
                        "valueFrom": {"secretKeyRef": {"name": USERS_SECRET, "key": _password_env(user)}}
                    }
                    for user in users
                },
                "merge": {
                    "securityContext": restricted_container_security(),
                    "resources": {
                        "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                        "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
                    },
                },
            },
            # The config reloader shares the servers' process namespace, and signals nats-server as the
            # same user.
            "reloader": {"merge": {"securityContext": restricted_container_security()}},
            "podTemplate": {
                "topologySpreadConstraints": spread,
                "merge": {"spec": {"securityContext": restricted_pod_security()}},
            },
            # A rotated password reaches the servers' environment only through a restart. Not so the TLS
            # Secret: its files change in place, and the config reloader has the server reload them.
            "statefulSet": {
                "merge": {"metadata": {"annotations": {RELOAD_ON_SECRETS: USERS_SECRET}}} if users else {}
            },
            "podDisruptionBudget": {"enabled": True},
            # A pod with a shell and the nats CLI, on by default: nothing of paved's needs it.
            "natsBox": {"enabled": False},
        }

    def _network_policies(
        self, users: Sequence[str], labels: Mapping[str, str], in_namespace: pulumi.ResourceOptions
    ) -> None:
        namespace = NATS_CHART.namespace
        default_deny(namespace, labels, in_namespace)
        servers = networking.NetworkPolicyPeerArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels=NATS_POD_LABELS)
        )
        # An app's pods, and its one-off `paved run` Jobs (paved/run.py labels them <app>-run).
        clients = [
            pods_in(user, {"app.kubernetes.io/name": name})
            for user in users
            for name in (user, f"{user}-run")
        ]
        routes = [networking.NetworkPolicyPortArgs(port=CLUSTER_PORT, protocol="TCP")]
        ingress = [networking.NetworkPolicyIngressRuleArgs(from_=[servers], ports=routes)]
        if clients:
            ingress.append(
                networking.NetworkPolicyIngressRuleArgs(
                    from_=clients, ports=[networking.NetworkPolicyPortArgs(port=NATS_PORT, protocol="TCP")]
                )
            )
        networking.NetworkPolicy(
            "nats",
            metadata=meta.ObjectMetaArgs(name="nats", namespace=namespace, labels=dict(labels)),
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=NATS_POD_LABELS),
                policy_types=["Ingress", "Egress"],
                ingress=ingress,
                # Routes are DNS names of the headless service (files/config/cluster.yaml).
                egress=[DNS_EGRESS, networking.NetworkPolicyEgressRuleArgs(to=[servers], ports=routes)],
            ),
            opts=in_namespace,
        )

    def _alarms(self) -> None:
        # Container Insights per pod and namespace:
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-EKS.html
        # A StatefulSet's pods keep their own names as PodName (nats-0, nats-1...), unlike a Deployment's:
        # amazon-contributing/opentelemetry-collector-contrib, receiver/awscontainerinsightreceiver,
        # podstore.go (addPodOwnersAndPodName). JetStream's own state (stream lag, storage used, RAFT
        # health) is exported only by the chart's Prometheus exporter, which nothing scrapes yet.
        args, context = self._args, self._context
        restarts, missing = args.alarms.restarts, args.alarms.pods_missing
        namespace = {"ClusterName": context.cluster_name, "Namespace": NATS_CHART.namespace}
        for index in range(args.replicas):
            pod = f"{NATS_CHART.name}-{index}"
            context.alerting.threshold_alarms(
                pod,
                [
                    restarts.threshold_for(
                        suffix="restarts",
                        description=f"NATS server {pod}: containers restarted more than "
                        f"{restarts.threshold:g} times {restarts.window_text}",
                        metric_name="pod_number_of_container_restarts",
                        statistic="Sum",
                        comparison_operator="GreaterThanThreshold",
                        treat_missing_data="notBreaching",
                    )
                ],
                namespace="ContainerInsights",
                dimensions={**namespace, "PodName": pod},
                parent=self,
                runbook_prefix=NATS_CHART.name,
            )
        running = args.replicas - missing.threshold
        pods = missing.threshold_for(
            suffix="pods",
            description=f"Fewer than {running:g} of {args.replicas} NATS servers running "
            f"{missing.window_text}: JetStream stops when a majority is down",
            metric_name="namespace_number_of_running_pods",
            statistic="Minimum",
            comparison_operator="LessThanThreshold",
            # No datapoint: nothing runs in the namespace.
            treat_missing_data="breaching",
        )
        context.alerting.threshold_alarms(
            NATS_CHART.name,
            [dataclasses.replace(pods, threshold=running)],
            namespace="ContainerInsights",
            dimensions=namespace,
            parent=self,
        )
