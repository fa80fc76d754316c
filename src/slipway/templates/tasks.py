"""Invoke tasks, written by `slipway init`: slipway's collection.

`invoke --list` shows them; the `slipway` command runs the same tasks.
"""

try:
    from slipway.cli import collection
except ModuleNotFoundError as missing:
    raise SystemExit(
        f"tasks.py: this invoke cannot import slipway ({missing}): run slipway's own "
        "invoke (uv tool install --with-executables-from invoke,nox slipway), "
        "or the same tasks as `slipway TASK`"
    ) from None

ns = collection()
