"""The `slipway` command's invoke Program, imported only when a command runs
through invoke (the help is printed without it: :mod:`slipway.cli._help`).

It offers only the core flags that do something under slipway: invoke's
others configure its own ``c.run()`` (--dry, --echo, --hide, --pty,
--warn-only, --command-timeout, --prompt-for-sudo-password), its config files
or its bytecode, and no slipway task calls ``c.run()``: offered, they were
accepted and ignored (`slipway --dry deploy` deployed). Without them such a
flag is a usage error like any unknown one.

The exit code says what happened (:data:`slipway.errors.SlipwayError.exit_code`):
0 done, 1 a failure, 2 a command line it cannot use, 3 a check that could
not look, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import re
import sys

from invoke.completion.complete import print_completion_script
from invoke.exceptions import Exit, ParseError, UnexpectedExit
from invoke.parser.argument import Argument
from invoke.parser.context import ParserContext
from invoke.program import Program
from invoke.util import enable_logging

from slipway.cli import collection
from slipway.errors import UsageError

# invoke's core flags that mean something to slipway.
CORE_FLAGS = frozenset(
    {"complete", "debug", "help", "list", "list-format", "print-completion-script", "version"}
)
USAGE = UsageError.exit_code
# What a shell reports for a command that SIGINT ended.
INTERRUPTED = 130

# invoke's parser names a flag by its Argument's repr: <Argument: health_path (h)>.
_ARGUMENT = re.compile(r"<Argument: (\w+)[^>]*>")
# The ValueError of a flag's cast: int("abc").
_NOT_A_NUMBER = re.compile(r"invalid literal for int\(\) with base 10: (.*)$")


def _said_plainly(message: str) -> str:
    """invoke's parse error with each flag named as users type it."""
    return _ARGUMENT.sub(lambda found: "--" + found.group(1).replace("_", "-"), message)


class Slipway(Program):
    """invoke's Program over slipway's collection, with slipway's core flags
    and exit codes; the version is read from the installed package's metadata
    only for `--version` (reading it costs every other command about 80 ms of
    imports)."""

    def core_args(self) -> list[Argument]:
        return [arg for arg in super().core_args() if arg.name in CORE_FLAGS]

    def print_version(self) -> None:
        from importlib import metadata

        try:
            self.version = metadata.version("slipway")
        except metadata.PackageNotFoundError:
            self.version = "unknown"
        super().print_version()

    def parse_core(self, argv: list[str] | None) -> None:
        """invoke's, less the flags slipway does not offer (--write-pyc: the
        bytecode is Python's business, see :func:`slipway.cli.edge.edge`)."""
        self.normalize_argv(argv)
        self.parse_core_args()
        if self.args.debug.value:
            enable_logging()
        if self.args.version.value:
            self.print_version()
            raise Exit
        if self.args["print-completion-script"].value:
            print_completion_script(
                shell=self.args["print-completion-script"].value, names=self.binary_names
            )
            raise Exit

    def parse_tasks(self) -> None:
        """invoke's, with a flag's value that is not the number it takes
        (``--port abc``) a usage error rather than a ValueError's traceback."""
        try:
            super().parse_tasks()
        except ValueError as exc:
            raise self._not_a_number(str(exc)) from None

    def _not_a_number(self, error: str) -> ParseError:
        """The ParseError for a flag whose value failed int(): the flag is
        the token that gave that value, the task the last one named before it."""
        found = _NOT_A_NUMBER.search(error)
        value = found.group(1).strip("'\"") if found else ""
        flag, task = "a flag", None
        for index, token in enumerate(self.core.unparsed):
            name, equals, given = token.partition("=")
            before = self.core.unparsed[index - 1] if index else ""
            if equals and given == value and name.startswith("-"):
                flag = name
                break
            if token == value and before.startswith("-"):
                flag = before
                break
            if token in self.parser.contexts:
                task = token
        return ParseError(f"{flag} takes a whole number, not {value!r}", ParserContext(name=task))

    def parse_cleanup(self) -> None:
        # invoke's reads --list-depth, of no use on a flat collection: its default.
        self.args["list-depth"] = Argument(names=("list-depth",), kind=int, default=0)
        super().parse_cleanup()

    def update_config(self, merge: bool = True) -> None:
        """No overrides from flags: the flags that set them are not offered."""
        if merge:
            self.config.merge()

    def run(self, argv: list[str] | None = None, exit: bool = True) -> None:
        """invoke's run, with its exit codes made slipway's: a parse error is
        a usage error (2, not 1), Ctrl-C ends with one line and 130 (not 1)."""
        try:
            try:
                self.create_config()
                self.parse_core(argv)
                self.parse_collection()
                self.parse_tasks()
                self.parse_cleanup()
                self.update_config()
                self.execute()
            except ParseError as exc:
                raise Exit(self._usage_line(exc), code=USAGE) from None
            except KeyboardInterrupt:
                raise Exit(f"{self.binary}: interrupted", code=INTERRUPTED) from None
        except Exit as exc:
            if exc.message:
                print(exc.message, file=sys.stderr)
            if exit:
                sys.exit(exc.code)
        except UnexpectedExit as exc:
            # A failed c.run() (no slipway task calls it), as invoke ends it.
            if exc.result.hide:
                print(exc, file=sys.stderr, end="")
            if exit:
                sys.exit(exc.result.exited)

    def _usage_line(self, error: ParseError) -> str:
        task = error.context.name if error.context is not None else None
        where = f"{self.binary} {task} --help" if task else f"{self.binary} --help"
        return f"{self.binary}: {_said_plainly(str(error))} ({where} lists what it takes)"


def make(kind: type[Slipway] = Slipway) -> Slipway:
    """The `slipway` command: the collection under invoke's Program, so
    `slipway deploy` is `invoke deploy` without a tasks.py."""
    return kind(namespace=collection(), name="slipway", binary="slipway")
