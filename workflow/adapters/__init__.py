"""What Redress talks to: the database, its tables and migrations, caches, locks."""
