"""`paved drill restore` against a moto server over HTTP, through real boto3 clients.

moto makes every instance `available` the moment it exists, so where a test needs a restore that takes time
(RTO arithmetic, the timeout), it registers a handler on the client's own botocore event system
(`after-call.rds.DescribeDBInstances`) that reports the drill instance as `creating` for a while: moto lacks
the duration, not the call. Time is the test's clock: sleeping advances it, nothing really sleeps.

The DR drill's two calls on replicated automated backups are stubbed with botocore's Stubber, on the
drill's `backups` client alone: moto 5.2.5 has no automated-backups replication
(DescribeDBInstanceAutomatedBackups serves only its own region's automated snapshots) and cannot restore from
`SourceDBInstanceAutomatedBackupsArn`. Everything else the DR drill does runs on moto.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from components.database import DRILL_METRIC_NAMESPACE
from paved.cli import app
from paved.drill import (
    DRILL_TAG,
    STACK_TAG,
    DrillClients,
    Source,
    dr_placement,
    drill_identifier,
    replicated_backup,
    run_restore_drill,
    source_database,
)
from tests.clock import Clock
from tests.moto_resources import postgres_instance, vpc_with_subnets

REGION = "eu-west-1"
DR_REGION = "eu-central-1"
SOURCE = "paved-prod-database"
DR_SUBNET_GROUP = "dr-database-subnets-7a8b9c"
DR_PARAMETER_GROUP = "dr-database-params-0d1e2f"


def _clients(endpoint: str) -> DrillClients:
    session = {"region_name": REGION, "endpoint_url": endpoint}
    return DrillClients(
        rds=boto3.client("rds", **session),
        ec2=boto3.client("ec2", **session),
        cloudwatch=boto3.client("cloudwatch", **session),
    )


@pytest.fixture
def prod_database(aws: str) -> DrillClients:
    """The stack's database as paved declares it: encrypted with its own key, in its own subnet group and
    parameter group, deletion-protected."""
    clients = _clients(aws)
    ec2 = clients.ec2
    vpc, subnets = vpc_with_subnets(ec2, REGION)
    rds = clients.rds
    rds.create_db_subnet_group(
        DBSubnetGroupName="database-subnets-1a2b3c", DBSubnetGroupDescription="isolated", SubnetIds=subnets
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="database-params-4d5e6f",
        DBParameterGroupFamily="postgres16",
        Description="force_ssl",
    )
    key = boto3.client("kms", region_name=REGION, endpoint_url=aws).create_key()["KeyMetadata"]["Arn"]
    rds.create_db_instance(
        DBInstanceIdentifier=SOURCE,
        DBInstanceClass="db.r7g.large",
        Engine="postgres",
        EngineVersion="16.4",
        AllocatedStorage=100,
        StorageType="gp3",
        StorageEncrypted=True,
        KmsKeyId=key,
        DBSubnetGroupName="database-subnets-1a2b3c",
        DBParameterGroupName="database-params-4d5e6f",
        MasterUsername="paved",
        MasterUserPassword="not-a-real-password-1",
        DeletionProtection=True,
        # As components/database.py declares it. moto copies this to the restored instance and drops the
        # drill's own PubliclyAccessible=False (it ignores overrides set to false).
        PubliclyAccessible=False,
        Tags=[{"Key": "environment", "Value": "prod"}],
    )
    return clients


def _creating_for(clients: DrillClients, target: str, calls: int | None) -> None:
    """The drill instance reads as `creating` for its first `calls` descriptions (None: always)."""
    seen = {"count": 0}

    def still_creating(parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances", []):
            if instance.get("DBInstanceIdentifier") == target:
                seen["count"] += 1
                if calls is None or seen["count"] <= calls:
                    instance["DBInstanceStatus"] = "creating"

    clients.rds.meta.events.register("after-call.rds.DescribeDBInstances", still_creating)


def _drill(
    clients: DrillClients,
    clock: Clock,
    *,
    keep: bool = False,
    timeout: float = 3600,
    source: Source | None = None,
    requested: datetime | None = None,
    **options: Any,
) -> Any:
    """Drill `d1` of stack prod to the latest restorable time; by default of the source in `clients`'
    region, requested 240 s after its LatestRestorableTime. `options` go to run_restore_drill."""
    source = source or source_database(clients.rds, SOURCE)
    if requested is None:
        assert source.latest_restorable is not None
        requested = source.latest_restorable + timedelta(seconds=240)
    return run_restore_drill(
        clients,
        "prod",
        source,
        "d1",
        restore_time=None,
        keep=keep,
        timeout=timeout,
        now=lambda: requested,
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


def _identifiers(clients: DrillClients) -> set[str]:
    return {i["DBInstanceIdentifier"] for i in clients.rds.describe_db_instances()["DBInstances"]}


def _drill_groups(clients: DrillClients) -> list[dict[str, Any]]:
    groups = clients.ec2.describe_security_groups(Filters=[{"Name": f"tag:{DRILL_TAG}", "Values": ["*"]}])
    return groups["SecurityGroups"]


def _metric_values(clients: DrillClients, name: str) -> list[float]:
    statistics = clients.cloudwatch.get_metric_statistics(
        Namespace=DRILL_METRIC_NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "Stack", "Value": "prod"}, {"Name": "DBInstance", "Value": SOURCE}],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=60,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in statistics["Datapoints"]]


def test_a_drill_restores_verifies_measures_and_cleans_up(prod_database: DrillClients) -> None:
    clients, clock = prod_database, Clock(1000.0)
    target = drill_identifier(SOURCE, "d1")
    # Available on the fourth look: three polls of the waiter's 30 s delay.
    _creating_for(clients, target, calls=3)
    kept: dict[str, Any] = {}

    def keep_restored(parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances", []):
            if instance.get("DBInstanceIdentifier") == target and instance["DBInstanceStatus"] == "available":
                kept.setdefault("instance", instance)

    clients.rds.meta.events.register("after-call.rds.DescribeDBInstances", keep_restored)
    report = _drill(clients, clock)
    assert report.error == "" and report.succeeded, report.checks
    assert report.rto_seconds == 90.0
    # RPO: the request time less the LatestRestorableTime read just before the request (moto moves it on).
    seen = datetime.fromisoformat(report.latest_restorable_time)
    assert report.rpo_seconds == (datetime.fromisoformat(report.requested_at) - seen).total_seconds()
    assert 0 < report.rpo_seconds <= 240
    assert [name for name, _, _ in report.checks] == [
        "engine and version",
        "encrypted with the source's key",
        "parameter group",
        "subnet group",
        "only the drill security group",
        "not publicly accessible",
        "storage as the source's",
        "IAM authentication on",
    ]
    restored = kept["instance"]
    tags = {tag["Key"]: tag["Value"] for tag in restored["TagList"]}
    assert tags[DRILL_TAG] == "d1" and tags[STACK_TAG] == "prod"
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "database-params-4d5e6f"
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "database-subnets-1a2b3c"
    # Deleted afterwards, with its group; the stack's database untouched.
    assert report.deleted
    assert _identifiers(clients) == {SOURCE}
    assert _drill_groups(clients) == []
    [source] = clients.rds.describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"]
    assert source["DeletionProtection"] is True
    assert _metric_values(clients, "Success") == [1.0]
    assert _metric_values(clients, "RTOSeconds") == [90.0]
    assert _metric_values(clients, "RPOSeconds") == [report.rpo_seconds]


def test_the_drill_group_admits_nothing_and_reaches_nothing(prod_database: DrillClients) -> None:
    clients = prod_database
    report = _drill(clients, Clock(1000.0), keep=True)
    assert report.succeeded and not report.deleted
    [group] = _drill_groups(clients)
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    assert {tag["Key"]: tag["Value"] for tag in group["Tags"]} == {DRILL_TAG: "d1", STACK_TAG: "prod"}
    assert drill_identifier(SOURCE, "d1") in _identifiers(clients)


def test_a_drill_that_times_out_fails_and_still_cleans_up(prod_database: DrillClients) -> None:
    clients, clock = prod_database, Clock(1000.0)
    _creating_for(clients, drill_identifier(SOURCE, "d1"), calls=None)
    report = _drill(clients, clock, timeout=120)
    assert report.error == "not done within 120 s (status creating)"
    assert not report.succeeded and report.rto_seconds is None and report.checks == []
    assert clock.seconds == 1120.0  # waited exactly the timeout
    assert _identifiers(clients) == {SOURCE}
    assert _drill_groups(clients) == []
    assert _metric_values(clients, "Success") == [0.0]
    assert _metric_values(clients, "RTOSeconds") == []


def test_a_drill_never_deletes_an_instance_without_its_tags(prod_database: DrillClients) -> None:
    """An instance already holding the drill's identifier, not made by the drill: the restore fails, and
    the cleanup leaves that instance alone."""
    clients = prod_database
    target = drill_identifier(SOURCE, "d1")
    postgres_instance(clients.rds, target, MasterUsername="someone")
    report = _drill(clients, Clock(1000.0))
    assert "DBInstanceAlreadyExists" in report.error
    assert not report.deleted
    assert _identifiers(clients) == {SOURCE, target}
    assert _drill_groups(clients) == []


def test_the_command_prints_its_plan_writes_reports_and_exits_by_the_verdict(
    prod_database: DrillClients, aws: str, tmp_path: Path
) -> None:
    args = ["drill", "restore", "--stack", "prod", "--region", REGION, "--endpoint-url", aws]
    declined = CliRunner().invoke(app, [*args, "--db-instance", SOURCE], input="n\n")
    assert declined.exit_code == 0 and "Nothing created." in declined.output
    assert declined.output.startswith(f"Restore drill: {SOURCE} to its latest restorable time")
    assert _drill_groups(prod_database) == []
    both = CliRunner().invoke(app, [*args, "--latest", "--time", "2026-12-01T00:00:00"])
    assert both.exit_code == 2 and "exclusive" in both.output
    result = CliRunner().invoke(
        app, [*args, "--yes", "-C", str(Path(__file__).parent.parent), "--report-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [json_report] = tmp_path.glob("drill-*.json")
    document = json.loads(json_report.read_text())
    assert document["succeeded"] is True and document["source"] == SOURCE and document["deleted"] is True
    assert json_report.with_suffix(".md").read_text().startswith("# Restore drill ")
    assert _identifiers(prod_database) == {SOURCE}


def test_cleanup_removes_what_a_kept_drill_left_and_nothing_else(
    prod_database: DrillClients, aws: str
) -> None:
    clients = prod_database
    assert _drill(clients, Clock(1000.0), keep=True).succeeded
    [group] = _drill_groups(clients)
    args = ["drill", "cleanup", "--stack", "prod", "--region", REGION, "--endpoint-url", aws, "--yes"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Drill cleanup of stack prod in {REGION}: 1 drill instance, 1 drill security group"
    assert lines[2].split() == [group["GroupId"], "drill", "d1", "security", "group", group["GroupName"]]
    assert f"  {group['GroupId']}: deleted" in lines
    assert _identifiers(clients) == {SOURCE}
    assert _drill_groups(clients) == []
    [source] = clients.rds.describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"]
    assert source["DeletionProtection"] is True


# -- the DR region ---------------------------------------------------------------------------------------


@pytest.fixture
def pilot_light(prod_database: DrillClients, aws: str) -> str:
    """The DR region as paved:dr.mode pilot-light leaves it: a VPC with subnets, a DB subnet group and
    parameter group, and the DR data key replication encrypts with. Returns that key's ARN."""
    session = {"region_name": DR_REGION, "endpoint_url": aws}
    ec2 = boto3.client("ec2", **session)
    _, subnets = vpc_with_subnets(ec2, DR_REGION)
    rds = boto3.client("rds", **session)
    rds.create_db_subnet_group(
        DBSubnetGroupName=DR_SUBNET_GROUP, DBSubnetGroupDescription="isolated", SubnetIds=subnets
    )
    rds.create_db_parameter_group(
        DBParameterGroupName=DR_PARAMETER_GROUP, DBParameterGroupFamily="postgres16", Description="force_ssl"
    )
    return str(boto3.client("kms", **session).create_key()["KeyMetadata"]["Arn"])


BACKUPS_ARN = f"arn:aws:rds:{DR_REGION}:123456789012:auto-backup:ab-drill1"


def _replicated_backups(source: Source, key: str, latest: datetime) -> dict[str, Any]:
    """DescribeDBInstanceAutomatedBackups in the DR region, as AWS answers for a replicating source."""
    return {
        "DBInstanceAutomatedBackups": [
            {
                "DBInstanceArn": source.arn,
                "DbiResourceId": source.resource_id,
                "Region": REGION,
                "DBInstanceIdentifier": SOURCE,
                "Status": "replicating",
                "Engine": "postgres",
                "EngineVersion": "16.4",
                "Encrypted": True,
                "KmsKeyId": key,
                "DBInstanceAutomatedBackupsArn": BACKUPS_ARN,
                "RestoreWindow": {"EarliestTime": latest - timedelta(days=7), "LatestTime": latest},
            }
        ]
    }


def _restored_as_aws_would(dr_rds: Any, source: Source, key: str) -> Any:
    """What AWS does with a restore from replicated backups, which moto cannot do: the instance appears in
    the DR region with the request's placement and identity, the source's engine and storage, and the
    backups' key."""

    def create(params: dict[str, Any], **_: Any) -> None:
        dr_rds.create_db_instance(
            DBInstanceIdentifier=params["TargetDBInstanceIdentifier"],
            DBInstanceClass=params["DBInstanceClass"],
            Engine=source.engine,
            EngineVersion=source.engine_version,
            AllocatedStorage=source.allocated_storage,
            StorageType=params["StorageType"],
            StorageEncrypted=True,
            KmsKeyId=key,
            DBSubnetGroupName=params["DBSubnetGroupName"],
            DBParameterGroupName=params["DBParameterGroupName"],
            VpcSecurityGroupIds=params["VpcSecurityGroupIds"],
            PubliclyAccessible=params["PubliclyAccessible"],
            EnableIAMDatabaseAuthentication=params["EnableIAMDatabaseAuthentication"],
            MasterUsername="paved",
            MasterUserPassword="not-a-real-password-1",
            Tags=params["Tags"],
        )

    return create


def test_a_dr_drill_restores_the_replicated_backups_into_the_pilot_light(
    prod_database: DrillClients, pilot_light: str, aws: str
) -> None:
    key = pilot_light
    session = {"region_name": DR_REGION, "endpoint_url": aws}
    dr_rds, backups = boto3.client("rds", **session), boto3.client("rds", **session)
    clients = DrillClients(
        rds=dr_rds, ec2=boto3.client("ec2", **session), cloudwatch=prod_database.cloudwatch, backups=backups
    )
    source = source_database(prod_database.rds, SOURCE)
    assert source.arn.startswith(f"arn:aws:rds:{REGION}:") and source.resource_id
    requested = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    latest = requested - timedelta(seconds=300)
    target = drill_identifier(SOURCE, "d1")
    stub = Stubber(backups)
    for _ in range(2):  # found before the plan; read again just before the restore, for the RPO
        stub.add_response(
            "describe_db_instance_automated_backups",
            _replicated_backups(source, key, latest),
            {"DbiResourceId": source.resource_id},
        )
    stub.add_response(
        "restore_db_instance_to_point_in_time",
        {"DBInstance": {"DBInstanceIdentifier": target, "DBInstanceStatus": "creating"}},
        {
            "SourceDBInstanceAutomatedBackupsArn": BACKUPS_ARN,
            "TargetDBInstanceIdentifier": target,
            "DBInstanceClass": "db.r7g.large",
            "DBSubnetGroupName": DR_SUBNET_GROUP,
            "VpcSecurityGroupIds": ANY,
            "DBParameterGroupName": DR_PARAMETER_GROUP,
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "EnableIAMDatabaseAuthentication": True,
            "DeletionProtection": False,
            "CopyTagsToSnapshot": False,
            "Tags": [{"Key": DRILL_TAG, "Value": "d1"}, {"Key": STACK_TAG, "Value": "prod"}],
            "UseLatestRestorableTime": True,
            "StorageType": "gp3",
            **({"Iops": source.iops} if source.iops else {}),
        },
    )
    backups.meta.events.register(
        "before-parameter-build.rds.RestoreDBInstanceToPointInTime",
        _restored_as_aws_would(dr_rds, source, key),
    )
    kept: dict[str, Any] = {}

    def keep_restored(parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances", []):
            if instance.get("DBInstanceIdentifier") == target:
                kept.setdefault("instance", instance)

    dr_rds.meta.events.register("after-call.rds.DescribeDBInstances", keep_restored)
    with stub:
        backup = replicated_backup(backups, source)
        placement = dr_placement(dr_rds, DR_SUBNET_GROUP, DR_PARAMETER_GROUP, backup)
        report = _drill(
            clients, Clock(1000.0), source=source, requested=requested, backup=backup, placement=placement
        )
        stub.assert_no_pending_responses()
    assert report.error == "" and report.succeeded, report.checks
    assert ("encrypted with the DR replication key", True, key) in report.checks
    # RPO from the replicated backups' RestoreWindow.LatestTime, not the source's LatestRestorableTime.
    assert report.rpo_seconds == 300.0 and report.latest_restorable_time == latest.isoformat()
    assert (report.region, report.restored_in) == (REGION, DR_REGION)
    assert f"Restored as `{target}` to latest, in {DR_REGION}" in report.as_markdown()
    assert "RestoreWindow.LatestTime" in report.as_markdown()
    # Restored into the pilot light's VPC, behind the drill's own group, and all of it deleted afterwards.
    dr_vpc = dr_rds.describe_db_subnet_groups(DBSubnetGroupName=DR_SUBNET_GROUP)["DBSubnetGroups"][0]["VpcId"]
    assert placement.vpc_id == dr_vpc
    assert kept["instance"]["DBSubnetGroup"]["VpcId"] == dr_vpc
    assert report.deleted
    assert dr_rds.describe_db_instances()["DBInstances"] == []
    assert _drill_groups(DrillClients(rds=dr_rds, ec2=clients.ec2, cloudwatch=None)) == []
    # The source region keeps its database, and gets the metrics its drill alarm watches.
    assert _identifiers(prod_database) == {SOURCE}
    assert _metric_values(prod_database, "Success") == [1.0]
    assert _metric_values(prod_database, "RPOSeconds") == [300.0]


def _dr_drill(aws: str, outputs: dict[str, Any], tmp_path: Path) -> Any:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    args = ["drill", "restore", "--stack", "prod", "--region", "dr", "--outputs", str(outputs_file)]
    return CliRunner().invoke(app, [*args, "--db-instance", SOURCE, "--endpoint-url", aws, "--yes"])


PILOT_LIGHT_OUTPUTS = {
    "region": REGION,
    "dr_region": DR_REGION,
    "dr_mode": "pilot-light",
    "dr_database_subnet_group": DR_SUBNET_GROUP,
    "dr_database_parameter_group": DR_PARAMETER_GROUP,
}


def test_the_dr_drill_refuses_a_stack_without_a_pilot_light(aws: str, tmp_path: Path) -> None:
    for outputs, says in (
        ({**PILOT_LIGHT_OUTPUTS, "dr_mode": "backups"}, "has paved:dr.mode backups"),
        ({"region": REGION, "dr_region": None, "dr_mode": None}, "has no DR region"),
        ({**PILOT_LIGHT_OUTPUTS, "dr_database_subnet_group": None}, "lack dr_database_subnet_group"),
    ):
        result = _dr_drill(aws, outputs, tmp_path)
        assert result.exit_code == 2 and says in result.output, result.output


def test_the_dr_drill_stops_before_creating_anything_when_no_backups_are_replicated(
    prod_database: DrillClients, pilot_light: str, aws: str, tmp_path: Path
) -> None:
    """moto replicates nothing, so the DR region really has no replicated backups of the source."""
    result = _dr_drill(aws, PILOT_LIGHT_OUTPUTS, tmp_path)
    assert result.exit_code == 1
    assert f"no automated backups of {SOURCE} are replicated to {DR_REGION}" in result.output
    dr_ec2 = boto3.client("ec2", region_name=DR_REGION, endpoint_url=aws)
    assert _drill_groups(DrillClients(rds=None, ec2=dr_ec2, cloudwatch=None)) == []
    assert _metric_values(prod_database, "Success") == []


def test_the_connect_check_runs_once_the_instance_is_available_and_decides_the_verdict(
    prod_database: DrillClients,
) -> None:
    clients = prod_database
    seen: list[tuple[str, str, str]] = []

    def connect(instance: str, group: str) -> tuple[str, bool, str]:
        [restored] = clients.rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
        seen.append((instance, group, restored["DBInstanceStatus"]))
        return "SELECT 1 from a Job in the cluster", False, "Job api/paved-drill-d1 failed: timeout"

    report = _drill(clients, Clock(1000.0), connect=connect)
    [(instance, group, status)] = seen
    assert (instance, status) == (drill_identifier(SOURCE, "d1"), "available")
    assert group.startswith("sg-")
    assert report.checks[-1] == (
        "SELECT 1 from a Job in the cluster",
        False,
        "Job api/paved-drill-d1 failed: timeout",
    )
    assert not report.succeeded and report.deleted


def test_connect_is_refused_in_the_dr_region(aws: str, tmp_path: Path) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(PILOT_LIGHT_OUTPUTS))
    args = ["drill", "restore", "--stack", "prod", "--region", "dr", "--outputs", str(outputs_file)]
    result = CliRunner().invoke(app, [*args, "--connect", "api", "--endpoint-url", aws, "--yes"])
    assert result.exit_code == 2 and "the DR region has none" in result.output
