"""`augenmass config-reference`: the configuration reference or its JSON Schema, generated from
the models (docs/configuration.md and docs/augenmass.schema.json are its output)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def config_reference(
    json_schema: Annotated[
        bool, typer.Option("--json-schema", help="the JSON Schema instead of the Markdown")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file, not stdout")
    ] = None,
) -> None:
    """Print the configuration reference (Markdown) or the JSON Schema for editors."""
    from augenmass.config.reference import json_schema_text, markdown

    text = json_schema_text() if json_schema else markdown()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
