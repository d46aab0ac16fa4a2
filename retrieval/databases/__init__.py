"""The SQL databases Verity keeps its rows in: SQLite files (one machine) and PostgreSQL (several).

`migrations` applies each store's versioned `Schema` (at start-up and by `verity migrate`);
`sqlite_file.SqliteFile` and `postgres.PostgresFile` are the two bases a store's class builds on.
It sits at the bottom of the import graph so that every package's stores can use it: the catalog
(retrieval), ingestion jobs (ingest), and the gateway, conversations and feedback (app).
"""
