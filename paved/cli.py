"""The `paved` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from paved.preview import run_preview
from paved.report import preview_digest, render_text

app = typer.Typer(help="paved: a production-readiness checklist as AWS infrastructure.", no_args_is_help=True)


@app.callback()
def main() -> None:
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
) -> None:
    """Run the program offline with first-preview semantics and judge it with policy packs.

    Exits 1 if the program fails or any mandatory policy is violated.
    """
    result = run_preview(cwd, stack, policy_pack or [], policy_pack_config or [])
    typer.echo(render_text(result), nl=False)
    if json_file is not None:
        json_file.write_text(json.dumps(preview_digest(result), indent=2) + "\n")
    raise typer.Exit(result.exit_code)


if __name__ == "__main__":
    app()
