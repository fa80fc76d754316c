"""bench/: slipway's speed and size, measured side by side with the raw Docker CLI.

`invoke bench` (or `make bench`) runs these on a throw-away copy of the
repository, prints a table and writes bench/results.json.

The library reaches Docker only through python-on-whales (src/slipway/
engine/). The benchmarks deliberately do not: the raw side of every
comparison runs `docker buildx build`, `docker compose ...` and `docker run`
as subprocesses, because the plain CLI is the baseline slipway's overhead is
measured against, and slipway's side runs the real `python -m invoke` CLI.
That exception to "one way into Docker" holds in bench/ only.
"""
