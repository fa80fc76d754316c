-- Every table's rows, as one JSON object: every ordinary or partitioned table
-- (partitions count in their parent) of the schemas the user owns (itself, or
-- through a role such as pg_database_owner, public's owner), but the system's;
-- named as a query on the default search_path would name it: `orders`,
-- `"Odd name"`, `audit.events`. query_to_xml runs each count in the calling
-- transaction, hence in its snapshot: no function to create, so it works READ
-- ONLY. The other scripts put this query (without these lines) where they say
-- {pg_count.sql}.
SELECT coalesce(json_object_agg(t.name, t.counted ORDER BY t.name), '{}') AS counted
FROM (
  SELECT
    CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname)
      ELSE format('%I.%I', n.nspname, c.relname) END AS name,
    (xpath('/row/n/text()', query_to_xml(
      format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, ''
    )))[1]::text::bigint AS counted
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND pg_has_role(n.nspowner, 'USAGE')
) AS t
