"""The PostgreSQL privileges of the application's role: everything it needs, and no way to rewrite the trail.

The owner role owns the schema and runs `redress db upgrade`; the application (the server, the scheduler, the
operators' commands that act) connects as a second role that may only read and append the event trail and the
audit record. Row triggers already refuse UPDATE and DELETE there, but a table's owner may drop a trigger, and
TRUNCATE fires no row trigger: the trail is out of reach only of a role that owns nothing.
"""

from __future__ import annotations

import re

from workflow.adapters.models import AUDIT, EVENTS
from workflow.domain.errors import InvalidInput

APPEND_ONLY = (EVENTS.name, AUDIT.name)
"""The trail: the application's role may read and append, never change, delete or empty it."""

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grants_sql(role: str, schema: str = "public") -> str:
    """The statements the schema's owner runs to give `role` exactly the application's rights (repeatable).

    Run them again after every `redress db upgrade` that adds a table.
    """
    if not _ROLE.match(role):
        raise InvalidInput(f"role '{role}' is not allowed; a role name is lower-case letters, digits and _ "
                           "(at most 63), starting with a letter or _")
    who, where = f'"{role}"', f'"{schema}"'
    tables = sorted(EVENTS.metadata.tables)
    writable = ", ".join(f'{where}."{name}"' for name in tables if name not in APPEND_ONLY)
    trail = ", ".join(f'{where}."{name}"' for name in APPEND_ONLY)
    return (
        "-- Run as the owner of the Redress schema (the role that runs `redress db upgrade`), once the\n"
        f"-- application's role exists: CREATE ROLE {who} LOGIN PASSWORD '...';\n"
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who};\n"
        f"GRANT USAGE ON SCHEMA {where} TO {who};\n"
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {writable} TO {who};\n"
        "-- The trail: read and append, never UPDATE, DELETE or TRUNCATE.\n"
        f"GRANT SELECT, INSERT ON {trail} TO {who};\n"
        f'GRANT SELECT ON {where}."alembic_version" TO {who};\n'
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {who};\n"
    )
