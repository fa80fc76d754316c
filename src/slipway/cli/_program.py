"""The `slipway` command's invoke Program, imported only when a command runs
through invoke (the help is printed without it: :mod:`slipway.cli._help`)."""

from __future__ import annotations

from invoke.program import Program

from slipway.cli import collection


class Slipway(Program):
    """invoke's Program over slipway's collection; the version is read from
    the installed package's metadata only for `--version` (reading it costs
    every other command about 80 ms of imports)."""

    def print_version(self) -> None:
        from importlib import metadata

        try:
            self.version = metadata.version("slipway")
        except metadata.PackageNotFoundError:
            self.version = "unknown"
        super().print_version()


def make(kind: type[Slipway] = Slipway) -> Slipway:
    """The `slipway` command: the collection under invoke's Program, so
    `slipway deploy` is `invoke deploy` without a tasks.py."""
    return kind(namespace=collection(), name="slipway", binary="slipway")
