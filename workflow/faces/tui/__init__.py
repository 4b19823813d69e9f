"""`redress tui`: the agent and supervisor terminal app (Textual), thin over the services in workflow/."""
