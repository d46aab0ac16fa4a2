"""Where the app's own rows live: versioned schemas applied to SQLite files or to PostgreSQL.

`migrations` holds the schema runner (one `Schema` per store, applied at start-up and by
`verity migrate`); `postgres` the pooled PostgreSQL twin of `app.sqlite_file.SqliteFile`.
"""
