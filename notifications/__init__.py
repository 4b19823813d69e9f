"""Messages to staff and customers: the outbox, written in the causing transaction, and its delivery channels."""
