"""The complaint state machine: states, triggers and guards. Pure: no database, clock or I/O."""
