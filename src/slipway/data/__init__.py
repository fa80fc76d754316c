"""The data: an environment's database backed up, verified and restored.

:mod:`~slipway.data.backup` writes an online backup and verifies it,
:mod:`~slipway.data.restore` puts one back; :mod:`~slipway.data.files` names
the backup files on the host, keeps the newest and checks a file before a
restore touches anything; :mod:`~slipway.data.scripts` holds what runs in the
containers, as files (SQLite's Python, PostgreSQL's shell and SQL), whose
row counts :mod:`~slipway.data.rowcounts` reads back and compares.
"""
