"""The policy manual: the answers an agent gives at first contact."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import Json, print_json, redress

QUICK_EXIT = True

app = typer.Typer()
kb_app = typer.Typer(help="The policy manual answered from at first contact.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Words of the question, Chinese or English.")],
    language: Annotated[Optional[str], typer.Option(help="Show answers in zh-CN, zh-TW or en.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many answers.")] = 5,
    as_json: Json = False,
) -> None:
    """Find policy answers to give on the line."""
    from dataclasses import asdict

    from workflow.services.kb import policy_answers

    rows = [asdict(hit) for hit in policy_answers(redress(), text, language=language, limit=limit)]
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_kb_hits

        print_kb_hits(text, rows)
