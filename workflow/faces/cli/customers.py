"""Customer profiles: find a customer, read their complaints, keep their profile right."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, print_table, say, seat

QUICK_EXIT = True

app = typer.Typer()
customer_app = typer.Typer(help="Customer profiles.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


@customer_app.command("show")
def customer_show(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")], as_user: As = None,
    as_json: Json = False,
) -> None:
    """A customer's profile and complaint history."""
    here = seat(as_user)
    detail = here.call("customer", ref)
    if as_json:
        print_json(detail)
    else:
        from workflow.faces.cli.tables import print_customer

        print_customer(detail, here.timezone, here.now())


@customer_app.command("edit")
def customer_edit(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")],
    name: Annotated[Optional[str], typer.Option(help="The customer's name.")] = None,
    phone: Annotated[Optional[str], typer.Option(help="Phone number (another customer's is refused).")] = None,
    email: Annotated[Optional[str], typer.Option(help="Email address (another customer's is refused).")] = None,
    tier: Annotated[Optional[str], typer.Option(help="Member tier, as config.yaml names them.")] = None,
    language: Annotated[Optional[str], typer.Option(help="zh-CN, zh-TW or en.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Change a customer's name, phone, email, tier or language (audited)."""
    from workflow.services.audit import describe

    edited = seat(as_user).call("edit_customer", ref, name=name, phone=phone, email=email, tier=tier,
                                language=language)
    if as_json:
        print_json(edited)
    else:
        say(f"customer #{edited['id']} ({edited['name']}): {describe(edited['changes'])}")


@customer_app.command("changes")
def customer_changes(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")], as_user: As = None,
    as_json: Json = False,
) -> None:
    """Who changed a customer's profile: each field from what to what, when."""
    here = seat(as_user)
    changes = here.call("customer_changes", ref)
    if as_json:
        print_json(changes)
        return
    from datetime import datetime

    from workflow.domain.clock import local_minute
    from workflow.faces.cli.tables import print_rows
    from workflow.services.audit import describe

    tz = here.timezone
    print_rows("Changes", [{"at": local_minute(datetime.fromisoformat(c["at"]), tz), "by": c["actor"],
                            "changes": describe(c["changes"])} for c in changes])


@customer_app.command("find")
def customer_find(
    text: Annotated[str, typer.Argument(help="Part of a name (中文 or English), or the start of a phone or email.")],
    limit: Annotated[int, typer.Option(help="At most this many customers.")] = 20,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Find customers by name, phone or email, with their open complaints."""
    found = seat(as_user).call("find_customers", text, limit=limit)
    if not found and not as_json:
        say(f"no customer matches '{text}'")
        return
    print_table(f"Customers matching '{text}' ({len(found)})", found, as_json,
                ("id", "name", "phone", "email", "tier", "open_complaints"))
