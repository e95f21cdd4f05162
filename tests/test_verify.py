"""`paved verify` against a moto server over HTTP, through real boto3 clients (boto3 isn't patched).

moto lacks two reads, so they go through botocore's Stubber, on their own clients only:
- AWS Backup `ListRecoveryPointsByBackupVault` (moto implements no backup jobs, so no recovery points);
- RDS `DescribeDBInstanceAutomatedBackups` in the DR region (moto implements no backup replication,
  `StartDBInstanceAutomatedBackupsReplication`).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from paved.cli import app
from paved.recorder import Recording
from paved.verify import (
    BACKUP_MAX_AGE,
    OUTPUTS,
    Check,
    Status,
    VerifyClients,
    verify,
)
from tests.moto_resources import alb_distribution, postgres_instance, vpc_with_subnets

REGION, DR_REGION, GLOBAL = "eu-west-1", "eu-central-1", "us-east-1"
ACCOUNT = "123456789012"
STACK = "prod"
DATABASE = "paved-prod-database"
VAULT = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:paved-prod-backup"
DR_VAULT = f"arn:aws:backup:{DR_REGION}:{ACCOUNT}:backup-vault:paved-prod-backup-dr"


@functools.cache
def _client(endpoint: str, service: str, region: str) -> Any:
    """One client per service and region for the session: making one takes longer than most calls."""
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


def _certificate(days: int) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


class Deployed:
    """A deployed prod stack in moto: what its outputs name, all healthy. The module creates it once; each
    test gets a copy (`again`) and breaks it by pointing its outputs at broken resources of its own, so the
    healthy ones stay healthy for the next test."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stack = STACK
        self.now = datetime.now(UTC)
        self.latest_recovery_point = self.now - timedelta(hours=6)
        self.latest_dr_copy = self.now - timedelta(hours=12)
        self.replicated_status = "replicating"
        self.outputs: dict[str, Any] = {"region": REGION, "dr_region": DR_REGION}
        self._edge()
        self._distribution()
        self._database()
        self._cluster()
        self._secrets()
        self.outputs |= {"backup_vault_arn": VAULT, "backup_dr_vault_arn": DR_VAULT}

    def client(self, service: str, region: str = REGION) -> Any:
        return _client(self.endpoint, service, region)

    def _edge(self) -> None:
        elbv2, wafv2 = self.client("elbv2"), self.client("wafv2")
        vpc, subnets = vpc_with_subnets(self.client("ec2"), REGION)
        alb = elbv2.create_load_balancer(Name="alb-1234567", Subnets=subnets)["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        groups = {}
        for name in ("api", "web"):
            group = elbv2.create_target_group(
                Name=f"{name}-1234567", Protocol="HTTPS", Port=8080, VpcId=vpc, TargetType="ip"
            )["TargetGroups"][0]["TargetGroupArn"]
            elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.0.0.10", "Port": 8080}])
            groups[name] = group
        acl = wafv2.create_web_acl(
            Name="alb-waf",
            Scope="REGIONAL",
            DefaultAction={"Allow": {}},
            VisibilityConfig={
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": "a",
            },
        )["Summary"]["ARN"]
        wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=alb)
        certificate, key = _certificate(days=90)
        self.alb_certificate = self.client("acm").import_certificate(Certificate=certificate, PrivateKey=key)[
            "CertificateArn"
        ]
        self.outputs |= {
            "edge_alb_arn": alb,
            "edge_alb_target_group_arns": groups,
            "edge_alb_web_acl_arn": acl,
            "edge_certificate_arn": self.alb_certificate,
        }
        self.vpc, self.subnets = vpc, subnets

    def _distribution(self) -> None:
        certificate, key = _certificate(days=200)
        arn = self.client("acm", GLOBAL).import_certificate(Certificate=certificate, PrivateKey=key)[
            "CertificateArn"
        ]
        acl = f"arn:aws:wafv2:{GLOBAL}:{ACCOUNT}:global/webacl/cdn-waf/0123"
        self.distribution = alb_distribution(
            self.client("cloudfront", GLOBAL),
            WebACLId=acl,
            ViewerCertificate={"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only"},
        )
        self.outputs |= {"cdn_distribution_id": self.distribution, "cdn_certificate_arn": arn}

    def _database(self) -> None:
        postgres_instance(self.client("rds"), DATABASE, BackupRetentionPeriod=35)
        self.outputs["database_identifier"] = DATABASE

    def _cluster(self) -> None:
        eks = self.client("eks")
        role = f"arn:aws:iam::{ACCOUNT}:role/eks"
        eks.create_cluster(
            name="paved-prod", roleArn=role, resourcesVpcConfig={"subnetIds": self.subnets}, version="1.36"
        )
        eks.create_nodegroup(
            clusterName="paved-prod", nodegroupName="general", subnets=self.subnets, nodeRole=role
        )
        self.outputs["cluster_name"] = "paved-prod"

    def _secrets(self) -> None:
        secretsmanager = self.client("secretsmanager")
        arns = {
            name: secretsmanager.create_secret(Name=f"paved/prod/{name}", SecretString="value")["ARN"]
            for name in ("stripe-key", "session-key")
        }
        self.outputs["secrets_app_secret_arns"] = arns

    def clients(self) -> VerifyClients:
        """Real clients on the moto server, but for the two reads moto lacks (module docstring)."""

        def client(service: str, region: str) -> Any:
            if service == "backup":
                return self._stubbed_backup(region)
            if service == "rds" and region == DR_REGION:
                return self._stubbed_replicated_backups()
            return self.client(service, region)

        return VerifyClients(client)

    def _stubbed_backup(self, region: str) -> Any:
        backup = boto3.client("backup", region_name=region, endpoint_url=self.endpoint)
        stubber = Stubber(backup)
        vault, created = (
            ("paved-prod-backup", self.latest_recovery_point)
            if region == REGION
            else ("paved-prod-backup-dr", self.latest_dr_copy)
        )
        stubber.add_response(
            "list_recovery_points_by_backup_vault",
            {
                "RecoveryPoints": [
                    {
                        "RecoveryPointArn": f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:old",
                        "Status": "COMPLETED",
                        "CreationDate": created - timedelta(days=1),
                    },
                    {
                        "RecoveryPointArn": f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:new",
                        "Status": "COMPLETED",
                        "CreationDate": created,
                    },
                ]
            },
            {"BackupVaultName": vault},
        )
        stubber.activate()
        return backup

    def _stubbed_replicated_backups(self) -> Any:
        rds = boto3.client("rds", region_name=DR_REGION, endpoint_url=self.endpoint)
        stubber = Stubber(rds)
        stubber.add_response(
            "describe_db_instance_automated_backups",
            {
                "DBInstanceAutomatedBackups": [
                    {
                        "DBInstanceIdentifier": DATABASE,
                        "Region": REGION,
                        "Status": self.replicated_status,
                        "RestoreWindow": {"LatestTime": self.now - timedelta(minutes=7)},
                    }
                ]
            },
            {"DBInstanceIdentifier": DATABASE},
        )
        stubber.activate()
        return rds

    def verify(self, at: datetime | None = None) -> list[Check]:
        return verify(self.clients(), self.outputs, self.stack, at or self.now)

    def again(self) -> Deployed:
        copy = Deployed.__new__(Deployed)
        copy.__dict__.update(self.__dict__)
        copy.outputs = json.loads(json.dumps(self.outputs))
        return copy


@pytest.fixture(scope="module")
def healthy(aws_for_module: str) -> Deployed:
    return Deployed(aws_for_module)


@pytest.fixture
def deployed(healthy: Deployed) -> Deployed:
    return healthy.again()


def _by_check(results: list[Check], check: str) -> list[Check]:
    return [result for result in results if result.check == check]


def _failures(results: list[Check]) -> list[Check]:
    return [result for result in results if result.status is Status.FAIL]


def test_a_healthy_stack_passes_every_check(deployed: Deployed) -> None:
    results = deployed.verify()
    assert _failures(results) == []
    assert {result.check for result in results} == {
        "targets",
        "waf",
        "alarms",
        "backups",
        "pitr",
        "dr",
        "certificate",
        "nodes",
        "secrets",
    }
    assert [r.target for r in _by_check(results, "targets")] == ["api", "web"]
    assert [r.target for r in _by_check(results, "waf")] == ["alb", f"cdn {deployed.distribution}"]
    assert [r.target for r in _by_check(results, "alarms")] == [REGION, GLOBAL]
    assert [r.target for r in _by_check(results, "dr")] == [
        "paved-prod-backup-dr",
        f"{DATABASE} in {DR_REGION}",
    ]


def test_an_unhealthy_target_fails(deployed: Deployed) -> None:
    ec2, elbv2 = deployed.client("ec2"), deployed.client("elbv2")
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=deployed.subnets[0]
    )["Instances"][0]["InstanceId"]
    group = _target_group(deployed, "web-unhealthy", targets=[{"Id": "10.0.0.10", "Port": 8080}])
    deployed.outputs["edge_alb_target_group_arns"]["web"] = group
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": instance, "Port": 8080}])
    ec2.stop_instances(InstanceIds=[instance])
    [web] = [r for r in _failures(deployed.verify()) if r.target == "web"]
    assert web.detail == f"1 of 2 not healthy: {instance} unused"


def _target_group(deployed: Deployed, name: str, targets: list[dict[str, Any]]) -> str:
    elbv2 = deployed.client("elbv2")
    group = elbv2.create_target_group(
        Name=name, Protocol="HTTPS", Port=8080, VpcId=deployed.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    if targets:
        elbv2.register_targets(TargetGroupArn=group, Targets=targets)
    return group


def test_a_target_group_without_targets_fails(deployed: Deployed) -> None:
    deployed.outputs["edge_alb_target_group_arns"]["api"] = _target_group(deployed, "api-empty", targets=[])
    failed = _failures(deployed.verify())
    assert [(r.check, r.target) for r in failed] == [("targets", "api")]


def test_an_alb_without_the_stacks_web_acl_fails(deployed: Deployed) -> None:
    # Another load balancer, with no web ACL.
    deployed.outputs["edge_alb_arn"] = deployed.client("elbv2").create_load_balancer(
        Name="alb-without-acl", Subnets=deployed.subnets
    )["LoadBalancers"][0]["LoadBalancerArn"]
    [waf] = _failures(deployed.verify())
    assert (waf.check, waf.target, waf.detail) == ("waf", "alb", "no web ACL is associated")


def test_a_distribution_without_a_web_acl_fails(deployed: Deployed) -> None:
    cloudfront = deployed.client("cloudfront", GLOBAL)
    config = cloudfront.get_distribution_config(Id=deployed.distribution)["DistributionConfig"]
    without = cloudfront.create_distribution(
        DistributionConfig={**config, "CallerReference": "without-acl", "WebACLId": ""}
    )["Distribution"]["Id"]
    deployed.outputs["cdn_distribution_id"] = without
    [waf] = _failures(deployed.verify())
    assert (waf.check, waf.target, waf.detail) == ("waf", f"cdn {without}", "no web ACL")


def _alarm(deployed: Deployed, name: str, region: str, state: str | None) -> None:
    cloudwatch = deployed.client("cloudwatch", region)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="CPUUtilization",
        Namespace="AWS/RDS",
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="missing",
    )
    if state:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_an_alarm_of_the_stack_in_alarm_fails_but_missing_data_and_other_stacks_do_not(
    deployed: Deployed,
) -> None:
    deployed.stack = "alarming"  # alarms are found by the stack's name: this test's own
    _alarm(deployed, "alarming-database-cpu", REGION, "ALARM")
    _alarm(deployed, "alarming-cdn-5xx", GLOBAL, "ALARM")
    _alarm(deployed, "alarming-cache-1-cpu", REGION, "INSUFFICIENT_DATA")
    _alarm(deployed, "alarmingly-other-stack-cpu", REGION, "ALARM")
    failed = _failures(deployed.verify())
    assert [(r.check, r.target, r.detail) for r in failed] == [
        ("alarms", REGION, "in ALARM: alarming-database-cpu"),
        ("alarms", GLOBAL, "in ALARM: alarming-cdn-5xx"),
    ]


def test_a_stale_recovery_point_fails(deployed: Deployed) -> None:
    deployed.latest_recovery_point = deployed.now - BACKUP_MAX_AGE - timedelta(hours=1)
    [stale] = _failures(deployed.verify())
    assert (stale.check, stale.target) == ("backups", "paved-prod-backup")
    assert stale.detail == "latest recovery point is 34.0 h old (limit 33 h)"


def test_point_in_time_restore_lagging_over_ten_minutes_fails(deployed: Deployed) -> None:
    # moto reports LatestRestorableTime as the moment it answers; the check runs 11 minutes later.
    results = deployed.verify(at=datetime.now(UTC) + timedelta(minutes=11))
    [pitr] = _by_check(results, "pitr")
    assert pitr.status is Status.FAIL
    assert pitr.detail.startswith("restorable only to 11 min old")


def test_missing_dr_copies_and_replication_fail(deployed: Deployed) -> None:
    deployed.latest_dr_copy = deployed.now - timedelta(days=3)
    deployed.replicated_status = "retained"  # the source is gone, or replication was stopped
    failed = _failures(deployed.verify())
    assert [(r.check, r.target) for r in failed] == [
        ("dr", "paved-prod-backup-dr"),
        ("dr", f"{DATABASE} in {DR_REGION}"),
    ]
    assert failed[1].detail == "no replicated automated backups"


def test_a_certificate_expiring_within_thirty_days_fails(deployed: Deployed) -> None:
    certificate, key = _certificate(days=20)
    deployed.outputs["edge_certificate_arn"] = deployed.client("acm").import_certificate(
        Certificate=certificate, PrivateKey=key
    )["CertificateArn"]
    [expiring] = _failures(deployed.verify())
    assert (expiring.check, expiring.target) == ("certificate", "alb")
    assert expiring.detail.endswith(("in 19 days", "in 20 days"))


def test_a_cluster_without_node_groups_fails(deployed: Deployed) -> None:
    deployed.client("eks").create_cluster(
        name="without-nodes",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
        resourcesVpcConfig={"subnetIds": deployed.subnets},
    )
    deployed.outputs["cluster_name"] = "without-nodes"
    [nodes] = _failures(deployed.verify())
    assert (nodes.check, nodes.target, nodes.detail) == ("nodes", "without-nodes", "no node groups")


def test_a_secret_without_a_current_version_or_scheduled_for_deletion_fails(deployed: Deployed) -> None:
    secretsmanager = deployed.client("secretsmanager")
    empty = secretsmanager.create_secret(Name="paved/prod/empty")["ARN"]
    deleted = secretsmanager.create_secret(Name="paved/prod/deleted", SecretString="value")["ARN"]
    secretsmanager.delete_secret(SecretId=deleted)
    deployed.outputs["secrets_app_secret_arns"] |= {"empty": empty, "deleted": deleted}
    failed = _failures(deployed.verify())
    assert [(r.target, r.detail) for r in failed] == [
        ("deleted", "scheduled for deletion"),
        ("empty", "no current version (AWSCURRENT)"),
    ]


def test_every_output_verify_reads_is_one_the_program_exports(prod: Recording) -> None:
    assert set(prod.stack_outputs) >= OUTPUTS


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_prints_a_table_and_exits_non_zero_on_a_failure(
    deployed: Deployed, tmp_path: Path
) -> None:
    _alarm(deployed, "command-database-cpu", REGION, "ALARM")
    # Without AWS Backup and a DR region, the command needs only what moto serves: it runs end to end.
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {**deployed.outputs, "dr_region": None, "backup_vault_arn": None, "backup_dr_vault_arn": None}
        )
    )
    args = ["verify", "--stack", "command", "--outputs", str(outputs), "--endpoint-url", deployed.endpoint]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == f"paved verify: {len(lines) - 1} checks, 1 failed."
    [alarm_line] = [line for line in lines if line.startswith("FAIL")]
    assert alarm_line.split() == ["FAIL", "alarms", REGION, "in", "ALARM:", "command-database-cpu"]
    assert [line.split()[:2] for line in lines if line.startswith("skip")] == [
        ["skip", "backups"],
        ["skip", "dr"],
    ]
    deployed.client("cloudwatch").set_alarm_state(
        AlarmName="command-database-cpu", StateValue="OK", StateReason="ok"
    )
    assert CliRunner().invoke(app, args).exit_code == 0


def test_without_outputs_or_a_pulumi_cli_the_command_says_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    result = CliRunner().invoke(app, ["verify", "--stack", STACK])
    assert result.exit_code == 2
    assert "pulumi stack output --json --stack prod > FILE" in result.stderr


def test_outputs_from_an_older_paved_are_refused_with_what_is_missing(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"region": REGION}))
    result = CliRunner().invoke(app, ["verify", "--stack", STACK, "--outputs", str(outputs)])
    assert result.exit_code == 2
    assert "lack backup_dr_vault_arn, backup_vault_arn" in result.stderr
