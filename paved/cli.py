"""The `paved` command."""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from paved.exit_codes import ExitCode

if TYPE_CHECKING:
    from paved_policies.wiring.verdicts import FlowResult

    from paved.config import StackConfig
    from paved.drill import DrillReport
    from paved.program import Project

app = typer.Typer(help="paved: a production-readiness checklist as AWS infrastructure.", no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"paved {version('paved')}")
        raise typer.Exit(ExitCode.CLEAN)


@app.callback()
def commands(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print paved's version and exit."
        ),
    ] = False,
) -> None:
    """Keeps `preview` a subcommand, so later commands sit beside it."""


# The stack names Pulumi takes (https://www.pulumi.com/docs/iac/concepts/stacks/): any other names no stack
# Pulumi could run, and would reach the file path and the report as typed (a bidi override, a lone surrogate).
_PULUMI_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def _pulumi_stack_name(name: str | None) -> str | None:
    if name is None or _PULUMI_STACK_NAME.fullmatch(name):
        return name
    from paved.errors import printable

    raise typer.BadParameter(
        f"'{printable(name)}' is not a stack name Pulumi takes: use letters, digits, '-', '_' and '.', "
        "100 at most (the stack's own name, without an organization/ prefix)"
    )


@app.command()
def preview(
    stack: Annotated[
        str,
        typer.Option(
            "--stack",
            "-s",
            help="Stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml.",
            callback=_pulumi_stack_name,
        ),
    ],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Also write a `pulumi preview --json` document here; `-`: to stdout (text to stderr).",
        ),
    ] = None,
    policy_pack: Annotated[
        list[Path] | None, typer.Option("--policy-pack", help="A policy pack directory; repeatable.")
    ] = None,
    policy_pack_config: Annotated[
        list[Path] | None,
        typer.Option("--policy-pack-config", help="JSON config for the policy pack in the same position."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Preview again whenever the stack file or the code changes; Ctrl-C stops.",
        ),
    ] = False,
    sarif_file: Annotated[
        Path | None,
        typer.Option(
            "--sarif", help="Also write the policy violations as SARIF 2.1.0 (GitHub code scanning) here."
        ),
    ] = None,
    junit_file: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            help="Also write the policy checks as JUnit XML (one testcase a policy and resource) here.",
        ),
    ] = None,
    markdown_file: Annotated[
        Path | None,
        typer.Option(
            "--markdown",
            help="Also write the verdict, violations and wiring table as Markdown (a PR comment) here.",
        ),
    ] = None,
) -> None:
    """Run the program offline with first-preview semantics and judge it with policy packs.

    Exit codes: 0 clean; 1 a mandatory policy violation, a failing wiring flow, or the program or a pack
    failed; 2 bad configuration (every problem with its key path) or usage.
    """
    _check_json_target("preview", json_file)
    _check_file_target("preview", "--sarif", sarif_file)
    _check_file_target("preview", "--junit", junit_file)
    _check_file_target("preview", "--markdown", markdown_file)
    # Imported here, not at the top, so that `main` has turned the collector off before the SDK loads.
    from paved.preview import run_preview
    from paved.report import preview_digest, render_text
    from paved.terminal import output_width, progress

    to_stderr = _is_stdout(json_file)

    def preview_once() -> int:
        with progress(f"Previewing {stack} offline…"):
            result = run_preview(cwd, stack, policy_pack or [], policy_pack_config or [])
        # Asked at each run: a watched terminal may have been resized since the last.
        width = output_width(sys.stderr if to_stderr else sys.stdout)
        typer.echo(render_text(result, width), nl=False, err=to_stderr)
        _write_json(json_file, preview_digest(result))
        if sarif_file is not None:
            from paved.sarif import write_sarif

            write_sarif(sarif_file, result, cwd)
        if junit_file is not None:
            from paved.junit import write_junit

            write_junit(junit_file, result)
        if markdown_file is not None:
            from paved.markdown import write_markdown

            write_markdown(markdown_file, result)
        return result.exit_code

    if not watch:
        raise typer.Exit(preview_once())
    from paved.program import ProjectError, load_project
    from paved.watch import watch_project

    try:
        project = load_project(cwd.resolve())
    except ProjectError:
        raise typer.Exit(preview_once()) from None
    raise typer.Exit(watch_project(project, stack, policy_pack or [], preview_once))


def _refuse(message: str, command: str = "flows") -> NoReturn:
    """A command line that cannot be acted on: one line on stderr, exit 2 (as for a usage error)."""
    typer.echo(f"paved {command}: {message}", err=True)
    raise typer.Exit(ExitCode.BAD_USAGE)


def _is_stdout(target: Path | None) -> bool:
    return target is not None and str(target) == "-"


def _check_json_target(command: str, target: Path | None) -> None:
    if not _is_stdout(target):
        _check_file_target(command, "--json", target)


def _check_file_target(command: str, flag: str, target: Path | None) -> None:
    """Refuse an output path that cannot be written before any work is done, not after a preview."""
    if target is None:
        return
    if _is_stdout(target):
        _refuse(f"{flag} takes a file path; only --json writes to stdout", command)
    if target.is_dir():
        _refuse(f"{flag} {target} is a directory; give a file path", command)
    if not target.parent.is_dir():
        _refuse(f"{flag} {target}: directory {target.parent} does not exist", command)


def _write_json(target: Path | None, document: object) -> None:
    if target is None:
        return
    text = json.dumps(document, indent=2) + "\n"
    if _is_stdout(target):
        sys.stdout.write(text)
    else:
        target.write_text(text)


def _saved_preview_flows(path: Path) -> list[FlowResult]:
    from paved_policies.wiring.flows import prove
    from paved_policies.wiring.snapshot import Snapshot

    try:
        document = json.loads(path.read_text())
    except OSError as error:
        _refuse(f"cannot read {path}: {error.strerror}")
    except ValueError as error:
        _refuse(f"{path} is not JSON: {error}")
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
        _refuse(
            f"{path} is not a preview: it has no `steps` (write one with `paved preview --json` or "
            "`pulumi preview --json`)"
        )
    try:
        snapshot = Snapshot.from_preview(document)
    except (AttributeError, TypeError, KeyError, ValueError) as error:
        _refuse(f"{path} is not a preview paved can read: {type(error).__name__}: {error}")
    return prove(snapshot)


@app.command()
def flows(
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            help="Run the program offline for this stack and prove its wiring.",
            callback=_pulumi_stack_name,
        ),
    ] = None,
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    preview_file: Annotated[
        Path | None,
        typer.Option(
            "--preview",
            help="Prove a saved preview instead: `paved preview --json` or `pulumi preview --json` output.",
        ),
    ] = None,
    why: Annotated[
        str | None, typer.Option("--why", help="Explain one flow hop by hop (its id, quoted: 'api->db').")
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help='Also write the flows as JSON (`{"flows": [...]}`) here; `-`: to stdout (text to stderr).',
        ),
    ] = None,
) -> None:
    """Prove the stack's wiring offline: every required flow has a path and a permission, no forbidden flow
    exists, and resources are created in a working order.

    Exits 1 when a flow fails (with --why: when that flow fails) or the program fails.

    Exits 2 when the configuration is wrong or the command line cannot be acted on: no such file, not a
    preview, no such flow.
    """
    # Imported here, not at the top, so that `main` has turned the collector off before the SDK loads.
    from paved_policies.wiring.flows import as_json

    from paved.report import (
        WIRING_LEGEND,
        diagnostic_lines,
        flow_explanation,
        stopped_because,
        wiring_lines,
    )
    from paved.terminal import output_width, progress, wrap

    _check_json_target("flows", json_file)
    to_stderr = _is_stdout(json_file)
    if preview_file is not None and stack is None:
        results = _saved_preview_flows(preview_file)
    elif stack is not None and preview_file is None:
        from paved.preview import run_preview

        with progress(f"Running {stack} offline…"):
            preview = run_preview(cwd, stack)
        if not preview.ran_cleanly:
            width = output_width(sys.stderr)
            verdict = f"Wiring proof not run: {stopped_because(preview)}."
            lines = [*diagnostic_lines(preview, width), *wrap(verdict, width)]
            typer.echo("\n".join(lines), err=True)
            raise typer.Exit(preview.exit_code)
        results = preview.flows
    else:
        _refuse("give either --stack NAME (run the program) or --preview FILE.json (a saved preview)")
    _write_json(json_file, {"flows": as_json(results)})
    width = output_width(sys.stderr if to_stderr else sys.stdout)
    if why is not None:
        chosen = next((flow for flow in results if flow.id == why), None)
        if chosen is None:
            _refuse(f"no flow {why!r}; the flows are: {', '.join(flow.id for flow in results) or 'none'}")
        lines = [*flow_explanation(chosen, width), "", *wrap(WIRING_LEGEND, width, hanging=2)]
        typer.echo("\n".join(lines), err=to_stderr)
        raise typer.Exit(ExitCode.BLOCKED if chosen.fails else ExitCode.CLEAN)
    failing = [flow for flow in results if flow.fails]
    typer.echo("\n".join(wiring_lines(results, width)) or "No wiring flows to prove.", err=to_stderr)
    verdict = "failed" if failing else "succeeded"
    summary = f"Wiring proof {verdict}: {len(results)} flows, {len(failing)} failing."
    typer.echo("\n".join(wrap(summary, width)), err=to_stderr)
    raise typer.Exit(ExitCode.BLOCKED if failing else ExitCode.CLEAN)


# The options of the commands that call AWS.
SdkRegion = Annotated[
    str | None, typer.Option("--region", help="AWS region; default: the AWS SDK's (AWS_REGION, profile).")
]
OutputsRegion = Annotated[
    str | None, typer.Option("--region", help="AWS region; default: the stack's `region` output.")
]
EndpointUrl = Annotated[
    str | None, typer.Option("--endpoint-url", help="An AWS-compatible endpoint (a moto server, LocalStack).")
]
OutputsFile = Annotated[
    Path | None,
    typer.Option(
        "--outputs", help="The stack's outputs, as `pulumi stack output --json` writes them; default: run it."
    ),
]


ReportDir = Annotated[
    Path, typer.Option("--report-dir", help="Where to write drill-<id>.json and drill-<id>.md.")
]
ProjectDir = Annotated[Path, typer.Option("-C", help="The Pulumi project directory.")]
RunWithoutAsking = Annotated[bool, typer.Option("--yes", "-y", help="Run without asking.")]


drill_app = typer.Typer(
    help="Restore drills: run them, and clean up what they leave behind.", no_args_is_help=True
)
app.add_typer(drill_app, name="drill")


@drill_app.command("cleanup")
def drill_cleanup(
    stack: Annotated[
        str,
        typer.Option(
            "--stack",
            "-s",
            help="Delete the drill resources of this stack: tagged paved:drill and paved:stack=<stack>.",
            callback=_pulumi_stack_name,
        ),
    ],
    region: SdkRegion = None,
    endpoint_url: EndpointUrl = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete the DB instances, replication groups and security groups that restore drills of the stack
    left behind, and nothing else.

    Prints each one (identifier, drill id, deletion protection) before changing anything, and asks
    unless given --yes. Turns off deletion protection where on, then deletes without a final snapshot and
    with the automated backups. One already deleting or gone is reported, not a failure.

    Exit codes: 0 done, nothing to do, or declined; 1 a deletion failed or the instances could not be
    listed; 2 usage (no region, no answer to the prompt without --yes).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    from paved.cache_drill import clean_up_cache, drill_caches
    from paved.drill import clean_up, delete_group, drill_instances, drill_security_groups, plan_lines

    try:
        rds = boto3.client("rds", region_name=region, endpoint_url=endpoint_url)
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint_url)
        elasticache = boto3.client("elasticache", region_name=region, endpoint_url=endpoint_url)
    except NoRegionError:
        _refuse("no AWS region: pass --region or set AWS_REGION", "drill cleanup")
    try:
        instances = drill_instances(rds, stack)
        caches = drill_caches(elasticache, stack)
        groups = drill_security_groups(ec2, stack)
    except (ClientError, BotoCoreError) as error:
        typer.echo(f"paved drill cleanup: cannot list the drill resources: {error}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    named = [(cache.group_id, cache.drill_id) for cache in caches]
    typer.echo("\n".join(plan_lines(stack, rds.meta.region_name, instances, groups, named)))
    count = len(instances) + len(caches) + len(groups)
    if not count:
        raise typer.Exit(ExitCode.CLEAN)
    if not _confirmed(yes, f"Delete {count} drill resource(s)?", "drill cleanup", undone="deleted"):
        raise typer.Exit(ExitCode.CLEAN)
    outcomes = [clean_up(rds, instance) for instance in instances]
    cache_outcomes = [clean_up_cache(elasticache, cache) for cache in caches]
    if groups:
        # A group stays in use until its instance or replication group is gone: wait for each deletion.
        for outcome in outcomes:
            if not outcome.failed:
                rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=outcome.identifier)
        for outcome in cache_outcomes:
            if not outcome.failed:
                elasticache.get_waiter("replication_group_deleted").wait(
                    ReplicationGroupId=outcome.identifier
                )
    outcomes += cache_outcomes
    outcomes += [delete_group(ec2, group) for group in groups]
    for outcome in outcomes:
        typer.echo(f"  {outcome.identifier}: {outcome.message}")
    failed = sum(outcome.failed for outcome in outcomes)
    if failed:
        typer.echo(f"Drill cleanup failed for {failed} of {len(outcomes)} resource(s).", err=True)
        raise typer.Exit(ExitCode.BLOCKED)
    typer.echo(f"Drill cleanup done: {len(outcomes)} resource(s).")
    raise typer.Exit(ExitCode.CLEAN)


@drill_app.command("restore")
def drill_restore(
    stack: Annotated[
        str,
        typer.Option(
            "--stack", "-s", help="The stack whose database to restore.", callback=_pulumi_stack_name
        ),
    ],
    restore_time: Annotated[
        datetime | None,
        typer.Option(
            "--time",
            help="Restore to this time (ISO 8601; UTC unless it says otherwise). Default: --latest.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M"],
        ),
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Restore to the latest restorable time.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the drill instance for a closer look.")] = False,
    timeout_minutes: Annotated[
        int, typer.Option("--timeout", min=1, help="Minutes to wait for the restored instance.")
    ] = 90,
    db_instance: Annotated[
        str | None,
        typer.Option(
            "--db-instance",
            help="The database's identifier; default <project>-<stack>-database, as paved names it.",
        ),
    ] = None,
    report_dir: ReportDir = Path("."),
    project_dir: ProjectDir = Path("."),
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="AWS region; default: the AWS SDK's (AWS_REGION, profile). `dr`: the stack's DR region, "
            "restoring the database's replicated automated backups into the pilot light (reads the stack's "
            "outputs: --outputs, or the Pulumi CLI).",
        ),
    ] = None,
    outputs_file: OutputsFile = None,
    connect: Annotated[
        str | None,
        typer.Option(
            "--connect",
            metavar="NAMESPACE",
            help="Also run SELECT 1 against the drill instance from a Job in this namespace of the cluster "
            "(an app's): needs the kubeconfig and the stack's outputs.",
        ),
    ] = None,
    kube_context: Annotated[
        str | None, typer.Option("--kube-context", help="The kubeconfig context for --connect.")
    ] = None,
    endpoint_url: EndpointUrl = None,
    yes: RunWithoutAsking = False,
) -> None:
    """Restore the stack's database to a point in time as a new drill instance, verify it, and measure
    RTO and RPO.

    With --region dr it restores in the DR region from the replicated automated backups, into the pilot
    light's subnet group and parameter group (paved:dr.mode pilot-light), checks the copy against the
    replication key, measures RPO from the backups' RestoreWindow.LatestTime, and sends its metrics to the
    source region, where the drill alarm watches them.

    The instance goes into the database's own subnet group and parameter group, behind a new security group
    that admits nothing, tagged paved:drill and paved:stack. It is checked against the source (engine and
    version, key, parameter group, network, storage), `paved/RestoreDrill` metrics are sent (Success,
    RTOSeconds, RPOSeconds), a JSON and a Markdown report are written, and the instance and its group are
    deleted unless --keep. An interrupted drill is removed by `paved drill cleanup`.

    Exit codes: 0 the drill succeeded or was declined; 1 it failed; 2 usage.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, NoRegionError

    from paved.drill import (
        DrillClients,
        DrillError,
        dr_placement,
        drill_identifier,
        replicated_backup,
        restore_plan_lines,
        run_restore_drill,
        source_database,
    )
    from paved.program import ProjectError, load_project

    if restore_time is not None and latest:
        _refuse(
            "--time and --latest are exclusive (as RestoreTime and UseLatestRestorableTime)", "drill restore"
        )
    if restore_time is not None and restore_time.tzinfo is None:
        restore_time = restore_time.replace(tzinfo=UTC)
    if db_instance is None:
        try:
            db_instance = f"{load_project(project_dir).name}-{stack}-database"
        except ProjectError as error:
            _refuse(f"{error}; pass --db-instance", "drill restore")
    if connect and region == "dr":
        _refuse("--connect runs in the primary region's cluster; the DR region has none", "drill restore")
    pilot_light = _pilot_light(stack, outputs_file) if region == "dr" else None
    workload_group = _workload_group(stack, outputs_file) if connect else None
    source_region = pilot_light.source_region if pilot_light else region
    try:
        primary = {"region_name": source_region, "endpoint_url": endpoint_url}
        restoring = {**primary, "region_name": pilot_light.region} if pilot_light else primary
        rds = boto3.client("rds", **restoring)
        clients = DrillClients(
            rds=rds,
            ec2=boto3.client("ec2", **restoring),
            cloudwatch=boto3.client("cloudwatch", **primary),
            backups=rds,
        )
        source_rds = boto3.client("rds", **primary) if pilot_light else rds
    except NoRegionError:
        _refuse("no AWS region: pass --region or set AWS_REGION", "drill restore")
    drill_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    try:
        source = source_database(source_rds, db_instance)
        backup = replicated_backup(rds, source) if pilot_light else None
        placement = (
            dr_placement(rds, pilot_light.subnet_group, pilot_light.parameter_group, backup)
            if pilot_light and backup
            else None
        )
    except (DrillError, BotoCoreError) as error:
        typer.echo(f"paved drill restore: {error}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    target = drill_identifier(source.identifier, drill_id)
    connect_step: Callable[[str, str], tuple[str, bool, str]] | None = None
    if connect and workload_group:
        from paved.drill_connect import ConnectCheck, KubernetesCluster, connect_check

        try:
            check = ConnectCheck(KubernetesCluster(kube_context), connect, workload_group)
        except Exception as error:  # the kubernetes client's config errors share no base class
            _refuse(f"no Kubernetes cluster to --connect to: {error}", "drill restore")

        def connect_to(instance: str, group: str) -> tuple[str, bool, str]:
            return connect_check(
                check,
                clients,
                stack,
                drill_id,
                instance,
                group,
                timeout=timeout_minutes * 60,
                clock=time.monotonic,
            )

        connect_step = connect_to

    _run_drill(
        "drill restore",
        stack,
        restore_plan_lines(source, target, restore_time, keep, placement, backup, connect),
        lambda: run_restore_drill(
            clients,
            stack,
            source,
            drill_id,
            restore_time=restore_time,
            keep=keep,
            timeout=timeout_minutes * 60,
            now=lambda: datetime.now(UTC),
            clock=time.monotonic,
            backup=backup,
            placement=placement,
            connect=connect_step,
        ),
        report_dir,
        yes,
        cleanup_region=pilot_light.region if pilot_light else None,
    )


@dataclass(frozen=True)
class _PilotLight:
    """The DR region's restore target, from the stack's outputs."""

    source_region: str
    region: str
    subnet_group: str
    parameter_group: str


def _workload_group(stack: str, outputs_file: Path | None) -> str:
    """The security group the apps' nodes carry, which the drill's group admits for --connect."""
    outputs = _stack_outputs(stack, outputs_file, "drill restore")
    [group] = _named_outputs(outputs, ("network_workload_security_group_id",), "drill restore")
    return group


def _pilot_light(stack: str, outputs_file: Path | None) -> _PilotLight:
    outputs = _stack_outputs(stack, outputs_file, "drill restore")
    mode = outputs.get("dr_mode")
    if mode != "pilot-light":
        has = f"paved:dr.mode {mode}" if outputs.get("dr_region") else "no DR region"
        _refuse(
            f"stack {stack} has {has}: "
            "a DR drill restores into the pilot light's network; set paved:dr.mode to pilot-light and "
            "`pulumi up` first",
            "drill restore",
        )
    return _PilotLight(
        *_named_outputs(
            outputs,
            ("region", "dr_region", "dr_database_subnet_group", "dr_database_parameter_group"),
            "drill restore",
        )
    )


def _named_outputs(outputs: dict[str, object], names: Sequence[str], command: str) -> list[str]:
    """The outputs `names` as non-empty strings, in order; refused, naming each one missing."""
    values = [outputs.get(name) for name in names]
    _refuse_missing_outputs(
        [name for name, value in zip(names, values, strict=True) if not isinstance(value, str) or not value],
        command,
    )
    return [str(value) for value in values]


def _refuse_missing_outputs(missing: Sequence[str], command: str) -> None:
    if missing:
        _refuse(
            f"the stack's outputs lack {', '.join(missing)}: `pulumi up` with this version of paved exports "
            "them",
            command,
        )


def _run_drill(
    command: str,
    stack: str,
    plan: Iterable[str],
    run: Callable[[], DrillReport],
    report_dir: Path,
    yes: bool,
    *,
    cleanup_region: str | None = None,
) -> NoReturn:
    """Print the drill's plan, ask (unless --yes), run it, then write and print its reports and exit with
    its verdict."""
    from botocore.exceptions import BotoCoreError, ClientError

    typer.echo("\n".join(plan))
    if not _confirmed(yes, "Run the drill?", command, undone="created"):
        raise typer.Exit(ExitCode.CLEAN)
    try:
        report = run()
    except (ClientError, BotoCoreError) as error:
        typer.echo(
            f"paved {command}: {error}; `paved drill cleanup --stack {stack}"
            + (f" --region {cleanup_region}" if cleanup_region else "")
            + "` removes what it left",
            err=True,
        )
        raise typer.Exit(ExitCode.BLOCKED) from None
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / f"drill-{report.drill_id}.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
    markdown = report.as_markdown()
    (report_dir / f"drill-{report.drill_id}.md").write_text(markdown)
    typer.echo(markdown)
    raise typer.Exit(ExitCode.CLEAN if report.succeeded else ExitCode.BLOCKED)


@drill_app.command("cache")
def drill_cache(
    stack: Annotated[
        str,
        typer.Option("--stack", "-s", help="The stack whose cache to restore.", callback=_pulumi_stack_name),
    ],
    keep: Annotated[bool, typer.Option("--keep", help="Keep the drill group for a closer look.")] = False,
    timeout_minutes: Annotated[
        int, typer.Option("--timeout", min=1, help="Minutes to wait for the restored group.")
    ] = 60,
    group_id: Annotated[
        str | None,
        typer.Option(
            "--group", help="The replication group; default <project>-<stack>-cache, as paved names it."
        ),
    ] = None,
    report_dir: ReportDir = Path("."),
    project_dir: ProjectDir = Path("."),
    region: SdkRegion = None,
    endpoint_url: EndpointUrl = None,
    yes: RunWithoutAsking = False,
) -> None:
    """Restore the cache's latest snapshot into a temporary replication group, verify it, and measure RTO
    (request to available) and RPO (request time minus the snapshot's).

    The group gets the cache's subnet group and parameter group, a new security group that admits nothing,
    TLS with a new AUTH token, and at-rest encryption with the cache's key, tagged paved:drill and
    paved:stack. Metrics, reports and cleanup as for `drill restore`.

    Exit codes: 0 the drill succeeded or was declined; 1 it failed; 2 usage.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, NoRegionError

    from paved.cache_drill import (
        CacheDrillClients,
        cache_drill_identifier,
        cache_plan_lines,
        cache_source,
        run_cache_drill,
    )
    from paved.drill import DrillError
    from paved.program import ProjectError, load_project

    if group_id is None:
        try:
            group_id = f"{load_project(project_dir).name}-{stack}-cache"
        except ProjectError as error:
            _refuse(f"{error}; pass --group", "drill cache")
    try:
        session = {"region_name": region, "endpoint_url": endpoint_url}
        elasticache = boto3.client("elasticache", **session)
        clients = CacheDrillClients(
            elasticache=elasticache,
            ec2=boto3.client("ec2", **session),
            cloudwatch=boto3.client("cloudwatch", **session),
            reads=elasticache,
        )
    except NoRegionError:
        _refuse("no AWS region: pass --region or set AWS_REGION", "drill cache")
    drill_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    try:
        source = cache_source(clients, group_id)
    except (DrillError, BotoCoreError) as error:
        typer.echo(f"paved drill cache: {error}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    _run_drill(
        "drill cache",
        stack,
        cache_plan_lines(source, cache_drill_identifier(stack, drill_id), keep),
        lambda: run_cache_drill(
            clients,
            stack,
            source,
            drill_id,
            keep=keep,
            timeout=timeout_minutes * 60,
            now=lambda: datetime.now(UTC),
            clock=time.monotonic,
        ),
        report_dir,
        yes,
    )


@app.command("verify")
def verify_command(
    stack: Annotated[
        str,
        typer.Option("--stack", "-s", help="The deployed stack to check.", callback=_pulumi_stack_name),
    ],
    outputs_file: OutputsFile = None,
    region: OutputsRegion = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Check a deployed stack: targets healthy, WAF on the ALB and the distribution, no alarm in ALARM,
    recent recovery points, point-in-time restore lag, DR copies, certificates valid 30 days or more,
    node groups ACTIVE, and every app secret with a current version. Prints a table.

    It only reads, so it is safe to run in CI after every `up`.

    Exit codes: 0 every check passed; 1 a check failed; 2 usage (no outputs to read).
    """
    from paved.verify import VerifyClients, missing_outputs, table, verify

    outputs = _stack_outputs(stack, outputs_file, "verify")
    _refuse_missing_outputs(missing_outputs(outputs), "verify")
    if region is not None:
        outputs = {**outputs, "region": region}
    results = verify(VerifyClients(_aws_clients(endpoint_url)), outputs, stack, datetime.now(UTC))
    typer.echo("\n".join(table(results)))
    failed = any(result.status.name == "FAIL" for result in results)
    raise typer.Exit(ExitCode.BLOCKED if failed else ExitCode.CLEAN)


def _aws_clients(endpoint_url: str | None) -> Callable[[str, str], Any]:
    """boto3 clients by (service, region), each made once."""
    import boto3

    made: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[service, region] = boto3.client(service, region_name=region, endpoint_url=endpoint_url)
        return made[service, region]

    return client


def _stack_outputs(stack: str, outputs_file: Path | None, command: str) -> dict[str, object]:
    """The stack's outputs, from the file, or from the Pulumi CLI when it is installed."""
    import shutil
    import subprocess

    if outputs_file is not None:
        try:
            loaded = json.loads(outputs_file.read_text())
        except (OSError, ValueError) as error:
            _refuse(f"cannot read {outputs_file}: {error}", command)
    elif shutil.which("pulumi") is None:
        _refuse(
            "no Pulumi CLI to read the stack's outputs: pass --outputs FILE, written by "
            f"`pulumi stack output --json --stack {stack} > FILE`",
            command,
        )
    else:
        pulumi = ["pulumi", "stack", "output", "--json", "--stack", stack]
        ran = subprocess.run(pulumi, capture_output=True, text=True, check=False)
        if ran.returncode != 0:
            _refuse(f"`{' '.join(pulumi)}` failed: {ran.stderr.strip()}", command)
        loaded = json.loads(ran.stdout)
    if not isinstance(loaded, dict):
        _refuse("the stack's outputs are not a JSON object", command)
    return loaded


secrets_app = typer.Typer(help="The stack's secrets: rotate one the way it is made.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate")
def secrets_rotate(
    secret: Annotated[
        str,
        typer.Argument(
            help="An app secret of paved:secrets, or cache-auth-token, database-password, origin-secret, "
            "database-user:<app>."
        ),
    ],
    stack: Annotated[
        str,
        typer.Option("--stack", "-s", help="The stack whose secret to rotate.", callback=_pulumi_stack_name),
    ],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    up: Annotated[bool, typer.Option("--up", help="Run `pulumi up` after raising the version.")] = False,
    outputs_file: OutputsFile = None,
    region: OutputsRegion = None,
    endpoint_url: EndpointUrl = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Change without asking.")] = False,
) -> None:
    """Rotate one of the stack's secrets the way paved makes it.

    A paved-generated secret: raise its version in the stack file (comments kept), then run (--up) or
    print `pulumi up`, which generates the new value; paved never writes secret values outside Pulumi. The
    RDS-managed master password: Secrets Manager rotates it (RotateSecret). An external secret: says how its
    owner rotates it, and changes nothing. Pods follow once External Secrets has synced the new value:
    Reloader rolls the Deployments that use it.

    Exit codes: 0 rotated (or declined); 1 the rotation or the `up` failed; 2 usage.
    """
    from paved.errors import ConfigError
    from paved.rotate import RotationError, next_steps, plan
    from paved.stack_edit import StackEditError, edited_config, with_values
    from paved.yaml_files import YamlError

    project, stack_file, config = _stack_config(cwd, stack, "secrets rotate")
    try:
        rotation = plan(secret, config)
    except RotationError as error:
        _refuse(str(error), "secrets rotate")
    if rotation.how == "managed":
        _rotate_managed(rotation.output, stack, outputs_file, region, endpoint_url, yes)
        return
    version = rotation.current + 1
    typer.echo(
        f"Rotate {secret} of stack {stack}: raise {rotation.key_text} from {rotation.current} to "
        f"{version} in {stack_file}, then `pulumi up --stack {stack}`{' (now)' if up else ''}."
    )
    if not _confirmed(yes, "Raise the version?", "secrets rotate"):
        return
    try:
        text = with_values(stack_file, {rotation.key: version})
        again = plan(secret, edited_config(stack_file, text, stack, project.name))
        if again.current != version:
            raise RotationError(
                f"the edited file reads {rotation.key_text} as {again.current}, not {version}"
            )
    except (RotationError, StackEditError, YamlError, ConfigError) as error:
        _refuse(f"{error}; {stack_file} is unchanged", "secrets rotate")
    stack_file.write_text(text)
    typer.echo(f"Raised {rotation.key_text} to {version} in {stack_file}.")
    if not up:
        typer.echo("\n".join(next_steps(stack, config.cluster.secret_refresh_minutes)))
        raise typer.Exit(ExitCode.CLEAN)
    _run_up(stack, project.directory, "secrets rotate")


def _stack_config(cwd: Path, stack: str, command: str) -> tuple[Project, Path, StackConfig]:
    """The project, its stack file and the stack's validated config; a refusal (exit 2) when any of them
    can't be read."""
    from paved.config import load_stack_config
    from paved.errors import ConfigError
    from paved.program import ProjectError, load_project
    from paved.yaml_files import YamlError, read_yaml

    try:
        project = load_project(cwd)
        stack_file = project.stack_file(stack)
        config = load_stack_config(read_yaml(stack_file).get("config") or {}, stack, project.name)
    except (ProjectError, YamlError, ConfigError, OSError) as error:
        _refuse(str(error), command)
    return project, stack_file, config


images_app = typer.Typer(help="The apps' images in ECR: admit a release by its scan.", no_args_is_help=True)
app.add_typer(images_app, name="images")


@images_app.command("check")
def images_check(
    stack: Annotated[
        str,
        typer.Option(
            "--stack", "-s", help="The stack whose apps' images to check.", callback=_pulumi_stack_name
        ),
    ],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    wait_minutes: Annotated[
        int, typer.Option("--wait-minutes", min=0, help="How long to wait for a scan still running.")
    ] = 10,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Block a release whose images have scan findings at or above paved:registry.blockSeverity.

    Reads each app's image from the stack file (`<app>:<tag>` is the app's repository in this stack; any
    ECR URI is read in its own account and region) and the findings ECR's scan reports for it, waiting for
    a scan still running. It only reads, so it is safe before every `up`.

    Exit codes: 0 every image admitted (or not in ECR); 1 one blocked; 2 usage.
    """
    from botocore.exceptions import BotoCoreError

    from paved.images import check_images, table

    project, _, config = _stack_config(cwd, stack, "images check")
    clients = _aws_clients(endpoint_url)

    def client_for(region: str | None) -> Any:
        return clients("ecr", region or config.region)

    threshold = config.registry.block_severity
    try:
        checks = check_images(
            {app.name: app.image for app in config.apps},
            project=project.name,
            stack=stack,
            threshold=threshold,
            wait_seconds=wait_minutes * 60,
            client_for=client_for,
            clock=time.monotonic,
            sleep=time.sleep,
        )
    except BotoCoreError as error:
        typer.echo(f"paved images check: cannot reach ECR: {error}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    typer.echo("\n".join(table(checks, threshold)))
    blocked = any(check.verdict.name == "BLOCKED" for check in checks)
    raise typer.Exit(ExitCode.BLOCKED if blocked else ExitCode.CLEAN)


assets_app = typer.Typer(help="Static assets: publish a build to the CDN's bucket.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("publish")
def assets_publish(
    directory: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, help="The static build, e.g. Next.js's .next/static."),
    ],
    stack: Annotated[
        str,
        typer.Option("--stack", "-s", help="The stack whose CDN serves them.", callback=_pulumi_stack_name),
    ],
    prefix: Annotated[
        str, typer.Option("--prefix", help="Where the files go in the bucket: the path CloudFront serves.")
    ] = "_next/static",
    outputs_file: OutputsFile = None,
    endpoint_url: EndpointUrl = None,
    yes: RunWithoutAsking = False,
) -> None:
    """Upload a static build to the stack's CDN assets bucket, before `up` rolls the pods.

    Sets each file's Content-Type, and Cache-Control immutable for hashed names; keeps the previous
    release's files; deletes only files paved uploaded for older releases; invalidates only changed files
    whose names are not hashed. Says what it will do, then asks (--yes to run unattended). Running it again
    for the same build changes nothing, and finishes a run that was stopped.

    Exit codes: 0 published (or declined); 1 S3 or CloudFront failed; 2 usage (no CDN in the outputs).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from paved.assets import AssetsError, build_assets, missing_outputs, plan_publish, publish

    outputs = _stack_outputs(stack, outputs_file, "assets publish")
    if "cdn_distribution_id" in outputs and outputs["cdn_distribution_id"] is None:
        _refuse(
            f"stack {stack} has no CDN (paved:edge.cloudfront is false): nothing serves assets",
            "assets publish",
        )
    _refuse_missing_outputs(missing_outputs(outputs), "assets publish")
    bucket, distribution = str(outputs["cdn_assets_bucket"]), str(outputs["cdn_distribution_id"])
    assets = build_assets(directory, prefix)
    if not assets:
        _refuse(f"{directory} holds no files", "assets publish")
    s3 = boto3.client("s3", region_name=str(outputs["region"]), endpoint_url=endpoint_url)
    try:
        plan = plan_publish(s3, bucket, assets)
        typer.echo("\n".join(plan.lines(bucket, distribution)))
        if not _confirmed(yes, "Publish?", "assets publish"):
            return
        # CloudFront's API lives in us-east-1, whichever region the bucket is in.
        cloudfront = boto3.client("cloudfront", region_name="us-east-1", endpoint_url=endpoint_url)
        invalidation = publish(s3, cloudfront, bucket, distribution, assets, plan)
    except (ClientError, BotoCoreError, AssetsError) as error:
        typer.echo(f"paved assets publish: {error}; run it again to finish", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    typer.echo(
        f"Published release {plan.release}"
        + (f"; invalidation {invalidation} is running." if invalidation else ".")
    )


@app.command("diagram")
def diagram_command(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="The stack to draw.", callback=_pulumi_stack_name)
    ],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
) -> None:
    """A Mermaid flowchart of the stack, from its wiring proof: each required data flow that holds, hop by
    hop with its port, and the internet's flows proven absent (dotted), by tier; the regions in its title.
    Paste it in a Markdown file: GitHub renders it.

    Exit codes: 0 drawn; 1 the program failed; 2 bad configuration or usage.
    """
    from paved_policies.wiring.verdicts import Verdict

    from paved.diagram import edges, mermaid
    from paved.preview import run_preview
    from paved.terminal import progress

    _, _, config = _stack_config(cwd, stack, "diagram")
    with progress(f"Running {stack} offline…"):
        preview = run_preview(cwd, stack)
    if not preview.ran_cleanly:
        _refuse(f"the program did not run: fix it with `paved preview --stack {stack}`", "diagram")
    held = [(flow.id, flow.kind, flow.title) for flow in preview.flows if flow.verdict is Verdict.PROVEN]
    regions = [config.region, *([f"DR {config.dr_region}"] if config.dr_region else [])]
    if config.edge.cloudfront:
        regions.append("CloudFront in us-east-1")
    for line in mermaid(edges(held), f"{stack}: {', '.join(regions)}"):
        typer.echo(line)


class ReportFormat(StrEnum):
    MD = "md"
    JSON = "json"
    HTML = "html"


@app.command("readiness")
def readiness_command(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="The stack to assess.", callback=_pulumi_stack_name)
    ],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="The report's format.")
    ] = ReportFormat.MD,
    policy_pack: Annotated[
        Path, typer.Option("--policy-pack", help="The policy pack whose verdicts count as evidence.")
    ] = Path("policies"),
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
) -> None:
    """Each item of the five production-readiness checklists, decided DONE, PARTIAL, MISSING or N/A from the
    previewed stack (resources, the policy pack's verdicts, the wiring proof, runbooks): a summary per
    checklist, the evidence per family of items, or what is missing and the config key that brings it.

    Exit codes: 0 reported; 1 the program or the pack failed; 2 bad configuration or usage.
    """
    from paved.preview import run_preview
    from paved.readiness import checklists
    from paved.readiness.report import as_json, assess, evidence_of, html, markdown
    from paved.terminal import progress

    project, _, config = _stack_config(cwd, stack, "readiness")
    with progress(f"Previewing {stack} offline with the policy pack…"):
        preview = run_preview(cwd, stack, [policy_pack])
    if not preview.ran_cleanly:
        _refuse(f"the preview did not run cleanly: see `paved preview --stack {stack}`", "readiness")
    assessment = assess(evidence_of(preview, config, project.directory), checklists.load())
    if output_format is ReportFormat.JSON:
        typer.echo(as_json(assessment))
    elif output_format is ReportFormat.HTML:
        typer.echo(html(assessment), nl=False)
    else:
        for line in markdown(assessment):
            typer.echo(line)


@app.command("diff")
def diff_command(
    first: Annotated[str, typer.Argument(metavar="STACK", help="A stack, e.g. staging.")],
    second: Annotated[str, typer.Argument(metavar="OTHER", help="The stack to compare it with, e.g. prod.")],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Markdown tables, for a pull request.")
    ] = False,
) -> None:
    """Every setting that differs between two stacks, as each resolves it (preset, then stack file), by
    section, each marked `preset` (the environments' presets differ: intended) or `set in <stack>` (a stack
    file's own choice, which is what drifts). It only reads the stack files.

    Exit codes: 0 listed (whatever differs); 2 usage (a stack file missing or invalid).
    """
    from paved.stack_diff import differences, table
    from paved.yaml_files import read_yaml

    names = (first, second)
    loaded = [_stack_config(cwd, name, "diff") for name in names]
    raws = tuple(read_yaml(stack_file).get("config") or {} for _, stack_file, _ in loaded)
    found = differences((loaded[0][2], loaded[1][2]), (raws[0], raws[1]), names)
    for line in table(found, names, markdown):
        typer.echo(line)


@app.command("rollback")
def rollback_command(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="The stack to roll back.", callback=_pulumi_stack_name)
    ],
    app_name: Annotated[
        str | None, typer.Argument(metavar="[APP]", help="The app to return to its previous image.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--released-since",
            metavar="REV",
            help="Instead of APP: every app whose image changed since commit REV (the release before a "
            "failed one) goes back to its image there.",
        ),
    ] = None,
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    up: Annotated[
        bool,
        typer.Option("--up", help="Run `pulumi up` and `paved verify` here (break glass) after the edit."),
    ] = False,
    yes: RunWithoutAsking = False,
) -> None:
    """Return an app to its previous image: the newest one in the stack file's git history that differs
    from today's, set in the stack file (comments kept). With --released-since REV, every app a release
    changed returns to its image at REV: what the deploy workflow proposes when `paved verify` fails.

    Pulumi stays the one writer: commit and push the change, and the deploy workflow runs the same `up`
    and `paved verify`, behind the same approval. `--up` runs them from here instead.

    Exit codes: 0 rolled back, declined, or nothing to roll back; 1 the `up` or the verification failed;
    2 usage (no earlier image, not a git checkout, a bad stack file).
    """
    from paved.errors import ConfigError
    from paved.rollback import RollbackError, changed_since, image_key, previous_revision
    from paved.stack_edit import StackEditError, edited_config, with_values
    from paved.yaml_files import YamlError, read_yaml

    if (app_name is None) == (since is None):
        _refuse("name one APP, or give --released-since REV for every app a release changed", "rollback")
    project, stack_file, config = _stack_config(cwd, stack, "rollback")
    images = {app.name: app.image for app in config.apps}
    if app_name is not None and app_name not in images:
        _refuse(f"stack {stack} has no app named {app_name}", "rollback")
    try:
        if app_name is not None:
            revision = previous_revision(stack_file, app_name, images[app_name])
            targets = {app_name: revision.image}
            origin = f"as of commit {revision.commit[:12]} ({revision.date}, {revision.subject})"
        else:
            assert since is not None
            targets, new = changed_since(stack_file, since, images)
            origin = f"as of commit {since}"
            for app in new:
                typer.echo(f"Left alone: {app} is new since {since}, with no image to return to.")
        document = read_yaml(stack_file).get("config")
        text = with_values(stack_file, {image_key(document, app): image for app, image in targets.items()})
        edited_config(stack_file, text, stack, project.name)
    except (RollbackError, StackEditError, YamlError, ConfigError) as error:
        _refuse(f"{error}; {stack_file} is unchanged", "rollback")
    if not targets:
        typer.echo(f"No app of stack {stack} has another image than at {since}: nothing to roll back.")
        raise typer.Exit(ExitCode.CLEAN)
    for app, image in targets.items():
        typer.echo(
            f"Roll back {app} of stack {stack}: image {images[app]} -> {image}, {origin}, in {stack_file}."
        )
    if not _confirmed(yes, "Set it?" if len(targets) == 1 else "Set them?", "rollback"):
        return
    stack_file.write_text(text)
    for app, image in targets.items():
        typer.echo(f"Set {app}'s image to {image} in {stack_file}.")
    if not up:
        typer.echo(
            "Next: commit and push it; the deploy workflow runs `up` and `paved verify`, with its approval."
        )
        raise typer.Exit(ExitCode.CLEAN)
    _run_up(
        stack,
        project.directory,
        "rollback",
        then=[sys.executable, "-m", "paved.cli", "verify", "--stack", stack],
    )


@app.command("run")
def run_command(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app whose pods run the command.")],
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="The stack the app is in.", callback=_pulumi_stack_name)
    ],
    command: Annotated[
        list[str] | None, typer.Argument(metavar="-- CMD...", help="The command and its arguments.")
    ] = None,
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    kube_context: Annotated[
        str | None, typer.Option("--context", help="The kubeconfig context (default: the current one).")
    ] = None,
    deadline_minutes: Annotated[
        int, typer.Option("--deadline-minutes", min=1, max=1440, help="Stop the run after this long.")
    ] = 60,
    cleanup: Annotated[
        bool,
        typer.Option(
            "--cleanup", help="Instead of running: delete the app's runs that paved run left behind."
        ),
    ] = False,
    yes: RunWithoutAsking = False,
) -> None:
    """Run CMD once as a Job of APP's pods: the same image, service account, env and secrets, security
    context and resources as the live Deployment (or CronJob), streaming its log (README, "Workers,
    scheduled jobs and one-off tasks"). For data fixes, scripts and consoles. The prod API is private: run it
    from the in-VPC runner or over a VPN, as `pulumi up`.

    Ctrl-C deletes the run. --cleanup deletes runs an interrupted `paved run` left (only Jobs labelled
    app.kubernetes.io/managed-by=paved-run; their pods and NetworkPolicies go with them).

    Exit codes: 0 the command succeeded (or cleanup done, or declined); 1 it failed; 2 usage.
    """
    from kubernetes.client.exceptions import ApiException

    from paved.run import MANAGED_BY, KubernetesRun, RunError, follow, leftover_jobs, start

    if cleanup == bool(command):
        _refuse("give the command after `--` (paved run APP --stack S -- CMD...), or --cleanup", "run")
    _, _, config = _stack_config(cwd, stack, "run")
    if app_name not in {app.name for app in config.apps}:
        _refuse(f"stack {stack} has no app named {app_name}", "run")
    try:
        cluster = KubernetesRun.from_kubeconfig(kube_context)
    except Exception as error:  # the kubernetes client's config errors share no base class
        _refuse(f"no Kubernetes cluster to run in: {error}", "run")
    if cleanup:
        left = leftover_jobs(cluster, app_name)
        if not left:
            typer.echo(f"No run of {app_name} is left in namespace {app_name}.")
            raise typer.Exit(ExitCode.CLEAN)
        typer.echo(f"Delete {', '.join(left)} (Jobs labelled app.kubernetes.io/managed-by={MANAGED_BY}).")
        if _confirmed(yes, "Delete them?", "run", undone="deleted"):
            for job in left:
                cluster.delete_job(app_name, job)
                typer.echo(f"Deleted {job}.")
        raise typer.Exit(ExitCode.CLEAN)
    assert command is not None
    typer.echo(
        f"Run {' '.join(command)!r} once in namespace {app_name} of stack {stack}, as a Job of {app_name}'s "
        f"pod template (its image, service account, env and secrets), with {app_name}'s egress and no "
        f"ingress, stopped after {deadline_minutes} min and deleted an hour after it ends."
    )
    if not _confirmed(yes, "Run it?", "run", undone="run"):
        return
    job = ""
    try:
        job = start(cluster, app_name, command, deadline_minutes * 60)
        typer.echo(f"Started Job {job}; its log follows.")
        state = follow(cluster, app_name, job, typer.echo)
    except RunError as error:
        _refuse(str(error), "run")
    except ApiException as error:
        # A refusal (RBAC: paved run needs to create Jobs and NetworkPolicies in the app's namespace).
        if job:
            cluster.delete_job(app_name, job)
        typer.echo(f"paved run: the Kubernetes API answered {error.status} {error.reason}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    except KeyboardInterrupt:
        if job:
            cluster.delete_job(app_name, job)
            typer.echo(f"Interrupted: deleted Job {job}.", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    typer.echo(f"Job {job}: {state}.")
    raise typer.Exit(ExitCode.CLEAN if state == "Complete" else ExitCode.BLOCKED)


def _run_up(stack: str, directory: Path, command: str, *, then: Sequence[str] = ()) -> NoReturn:
    """`pulumi up` of the stack here (for --up), then `then` if the update succeeded; exit 0 when all did."""
    import shutil
    import subprocess

    if shutil.which("pulumi") is None:
        _refuse(f"no Pulumi CLI for --up: run `pulumi up --stack {stack}` where it is installed", command)
    for step in (["pulumi", "up", "--stack", stack], list(then)):
        if step and subprocess.run(step, cwd=directory, check=False).returncode != 0:
            raise typer.Exit(ExitCode.BLOCKED)
    raise typer.Exit(ExitCode.CLEAN)


def _confirmed(yes: bool, question: str, command: str, *, undone: str = "changed") -> bool:
    """True to go on: given --yes, or answered yes. A no says "Nothing <undone>." and returns False; no
    answer at all (no terminal) is a usage error."""
    if yes:
        return True
    try:
        confirmed = typer.confirm(question, default=False)
    except typer.Abort:
        typer.echo("", err=True)
        _refuse(f"no answer to the prompt: nothing {undone}; pass --yes to run unattended", command)
    if not confirmed:
        typer.echo(f"Nothing {undone}.")
    return confirmed


def _rotate_managed(
    output: str,
    stack: str,
    outputs_file: Path | None,
    region: str | None,
    endpoint_url: str | None,
    yes: bool,
) -> None:
    """Secrets Manager's own rotation of the secret the stack output `output` names."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    outputs = _stack_outputs(stack, outputs_file, "secrets rotate")
    arn = outputs.get(output)
    if not isinstance(arn, str):
        _refuse(f"the stack's outputs have no {output}", "secrets rotate")
    typer.echo(f"Rotate {arn}: Secrets Manager runs its configured rotation (RotateSecret).")
    if not _confirmed(yes, "Rotate now?", "secrets rotate"):
        return
    client = boto3.client(
        "secretsmanager", region_name=region or str(outputs.get("region")), endpoint_url=endpoint_url
    )
    try:
        version = client.rotate_secret(SecretId=arn)["VersionId"]
    except (ClientError, BotoCoreError) as error:
        typer.echo(f"paved secrets rotate: {error}", err=True)
        raise typer.Exit(ExitCode.BLOCKED) from None
    typer.echo(f"Rotation started: new version {version}; the stack's pods follow once it is AWSCURRENT.")
    raise typer.Exit(ExitCode.CLEAN)


def main() -> None:
    """The `paved` console script: `app`, without garbage collection and without interpreter teardown."""
    # A preview allocates millions of objects (imported SDK classes, protobuf messages, outputs) that live
    # until the end, so each collection pass scans them for nothing: about a third of a cold preview's
    # time. The process is short; its memory is returned at exit.
    gc.disable()
    try:
        app()
        code: int | str | None = ExitCode.CLEAN
    except SystemExit as exit_:
        code = exit_.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    # Once the output is flushed and the packs are stopped (run_preview stops them), tearing down the
    # modules and objects one by one does no work for the user: ~0.7 s after a prod preview.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
