# Run with `sh -c` in the database's container, PGUSER and PGDATABASE set;
# stdin: a backup (pg_dump's custom format). Restored into a scratch database
# (always dropped), checked with amcheck; stdout: the rows of every table, as
# one JSON object, printed only if every step before passed.
set -e
scratch="slipway_verify_$$"
createdb "$scratch"
trap 'dropdb --if-exists "$scratch"' EXIT
pg_restore --exit-on-error --no-owner --dbname="$scratch"
pg_amcheck --install-missing --heapallindexed "$scratch" >&2
psql -X -q -A -t -v ON_ERROR_STOP=1 --dbname="$scratch" <<'SQL'
{pg_count.sql};
SQL
