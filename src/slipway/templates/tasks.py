"""Invoke tasks, written by `slipway init`: slipway's collection.

`invoke --list` shows them; the `slipway` command runs the same tasks.
"""

from slipway.cli import collection

ns = collection()
