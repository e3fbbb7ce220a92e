"""Backup and restore of a whole instance: ``flask backup FILE`` and ``flask restore FILE`` (CONTRACTS.md §4).

:mod:`app.backup.archive` is the archive format (pure: no Flask or database imports), :mod:`app.backup.services`
reads and writes the database and the uploaded files, :mod:`app.backup.commands` holds the CLI commands.
"""
