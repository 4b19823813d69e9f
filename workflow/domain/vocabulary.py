"""Fixed vocabularies the code itself relies on: staff roles (in rank order) and intake channels."""

ROLES = ("agent", "senior", "supervisor", "manager")
CHANNELS = ("phone", "web", "email", "chat", "fax", "letter")
