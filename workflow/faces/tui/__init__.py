"""`redress tui`: the agent and supervisor terminal app (Textual), thin over a seat: the database or a server."""
