"""Supplier outreach: the application shell (settings, database, Temporal client, CLI, web app)."""
