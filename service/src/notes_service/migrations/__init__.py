"""Alembic migration environment for notes-service (see ``notes_service.migrate``)."""
