"""Customer profiles: find a customer and read their complaints."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.faces.cli.common import Json, print_json, redress

QUICK_EXIT = True

app = typer.Typer()
customer_app = typer.Typer(help="Customer profiles.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


@customer_app.command("show")
def customer_show(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")], as_json: Json = False
) -> None:
    """A customer's profile and complaint history."""
    from workflow.read.queries import customer_detail

    detail = customer_detail(redress(), ref)
    if as_json:
        print_json(detail)
    else:
        from workflow.faces.cli.tables import print_customer

        print_customer(detail, redress().config.timezone, redress().clock.now())
