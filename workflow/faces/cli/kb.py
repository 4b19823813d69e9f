"""The policy manual: the answers an agent gives at first contact."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, seat

QUICK_EXIT = True

app = typer.Typer()
kb_app = typer.Typer(help="The policy manual answered from at first contact.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

Language = Annotated[Optional[str], typer.Option(help="Show answers in this language: zh-CN, zh-TW or en.")]
Customer = Annotated[
    Optional[str], typer.Option(help="Show answers in this customer's language (customer id, phone or email).")
]
Complaint = Annotated[
    Optional[str], typer.Option(help="Show answers in the language of this complaint's customer (number or id).")
]


def _language(as_user: Optional[str], language: Optional[str], customer: Optional[str],
              complaint: Optional[str]) -> Optional[str]:
    answer: Optional[str] = seat(as_user).call("answer_language", language=language, customer=customer,
                                               complaint=complaint)
    return answer


@kb_app.command("list")
def kb_list(language: Language = None, as_user: As = None, as_json: Json = False) -> None:
    """Every answer in the manual: id, category and title."""
    from workflow.domain.vocabulary import checked_language

    rows = [asdict(title) for title in seat(as_user).call("manual_titles", language=checked_language(language))]
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    from workflow.domain.inert import inert

    console = Console()
    widest = {key: max((len(row[key]) for row in rows), default=0) for key in ("id", "category")}
    table = Table(title=f"Policy manual ({len(rows)} answers)", title_justify="left")
    table.add_column("id", no_wrap=True, style="bold cyan")  # an id is never cut: the title gives way
    table.add_column("category", no_wrap=True)
    borders = 3 * 3 + 1
    title_width = max(console.width - widest["id"] - widest["category"] - borders, 8)
    table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=title_width)
    for row in rows:
        table.add_row(inert(row["id"]), inert(row["category"]), inert(row["title"]))
    console.print(table)


@kb_app.command("show")
def kb_show(
    answer_id: Annotated[str, typer.Argument(metavar="ID", help="Policy answer id (see `redress kb list`).")],
    language: Language = None,
    customer: Customer = None,
    complaint: Complaint = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """One answer in full: in every language, or in the one asked for (or the customer's)."""
    entry = seat(as_user).call("manual_entry", answer_id,
                               language=_language(as_user, language, customer, complaint))
    if as_json:
        print_json(asdict(entry))
        return
    from rich.console import Console

    from workflow.domain.inert import inert

    console = Console(highlight=False)
    console.print(f"[bold cyan]{entry.id}[/]  ({entry.category})")
    console.print(inert(f"keywords: {', '.join(entry.keywords)}"), markup=False, style="dim")
    for text in entry.texts:
        console.print()
        console.print(inert(f"{text.language}  {text.title}"), markup=False, style="bold")
        console.print(inert(text.answer, multiline=True), markup=False)


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Words of the question, Chinese or English.")],
    language: Language = None,
    customer: Customer = None,
    complaint: Complaint = None,
    limit: Annotated[int, typer.Option(help="At most this many answers.")] = 5,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Find policy answers to give on the line, best first."""
    chosen = _language(as_user, language, customer, complaint)
    rows = [asdict(hit) for hit in seat(as_user).call("manual_search", text, language=chosen, limit=limit)]
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_kb_hits

        print_kb_hits(text, rows)
