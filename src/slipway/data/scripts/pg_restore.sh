# Run with `sh -c` in the database's container, PGUSER and PGDATABASE set;
# stdin: a backup (pg_dump's custom format). Replaces the live database's
# objects, all or nothing; stdout: the rows of every table after, as one
# JSON object.
set -e
pg_restore --clean --if-exists --single-transaction --exit-on-error --no-owner \
  --dbname="$PGDATABASE"
psql -X -q -A -t -v ON_ERROR_STOP=1 <<'SQL'
{pg_count.sql};
SQL
