"""Performance harness: our stages against DuckDB on the same generated corpus, in one run."""
