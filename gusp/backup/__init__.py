"""Backups that restore: `gusp backup DIR` and `gusp restore DIR`.

A backup directory holds `database.dump` (pg_dump, custom format), `media/ab/cd/<key>` (every
photo file a row names, whatever the store: local disk or S3) and `manifest.json` (row counts,
sizes and SHA-256 of everything), written last: a directory without it is no backup. The database
and the list of files come from one snapshot, and no media sweep runs meanwhile, so every photo
the dump names is in the copy. `postgres` runs the client tools, `manifest` reads and checks the
manifest, `dump` makes a backup and `restore` puts one back into an empty database and store.
"""
