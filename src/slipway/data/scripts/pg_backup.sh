# Run with `sh -c` in the database's container, PGUSER and PGDATABASE set;
# stdout: the backup (pg_dump's custom format); stderr: the rows of every
# table, one line `slipway-rows {"table": rows, ...}`. The counts and
# pg_dump share one exported snapshot (REPEATABLE READ: every statement of
# the transaction sees the snapshot of its first): the rows counted are
# exactly the rows dumped, however busy the writers.
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT pg_export_snapshot() AS snapshot \gset
{pg_count.sql} \gset
\setenv SLIPWAY_SNAPSHOT :snapshot
\warn slipway-rows :counted
\! exec pg_dump --format=custom --snapshot="$SLIPWAY_SNAPSHOT"
COMMIT;
SQL
