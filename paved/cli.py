"""The `paved` command."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="paved: a production-readiness checklist as AWS infrastructure.", no_args_is_help=True)


@app.callback()
def commands() -> None:
    """Keeps `preview` a subcommand, so later commands sit beside it."""


@app.command()
def preview(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="Stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml.")
    ],
    cwd: Annotated[Path, typer.Option("-C", "--cwd", help="The Pulumi project directory.")] = Path("."),
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write a `pulumi preview --json` document here.")
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
) -> None:
    """Run the program offline with first-preview semantics and judge it with policy packs.

    Exits 1 if the program fails or any mandatory policy is violated.
    """
    # Imported here, not at the top, so that `main` has turned the collector off before the SDK loads.
    from paved.preview import run_preview
    from paved.report import preview_digest, render_text

    def preview_once() -> int:
        result = run_preview(cwd, stack, policy_pack or [], policy_pack_config or [])
        typer.echo(render_text(result), nl=False)
        if json_file is not None:
            json_file.write_text(json.dumps(preview_digest(result), indent=2) + "\n")
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


def main() -> None:
    """The `paved` console script: `app`, without garbage collection and without interpreter teardown."""
    # A preview allocates millions of objects (imported SDK classes, protobuf messages, outputs) that live
    # until the end, so each collection pass scans them for nothing: about a third of a cold preview's
    # time. The process is short; its memory is returned at exit.
    gc.disable()
    try:
        app()
        code: int | str | None = 0
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
