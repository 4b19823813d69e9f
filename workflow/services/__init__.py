"""The use cases, one transaction each, and the one writer they share."""
