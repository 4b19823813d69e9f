"""The rules of the trade: SLA arithmetic, severity, vocabulary, errors. No database here."""
