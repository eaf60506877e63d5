"""Lake operations and SQL access (docs/lakeops.md): `optimize` (compaction, clustering on
video_uid, a VACUUM that keeps every version the run journal needs), the catalog and its views,
`a100m sql`, and the Spark Connect endpoint `a100m serve`."""
