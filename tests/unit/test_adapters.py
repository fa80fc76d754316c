"""The adapters are assembly: the library's collection, short tasks, no aliases."""

from __future__ import annotations

import ast
import copy
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Task, task

from slipway.cli import collection
from slipway.cli._program import Slipway
from slipway.cli.edge import edge
from slipway.errors import CheckFailed, NotChecked, SlipwayError, UsageError
from tests.unit.conftest import WriteConfig

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = {
    "audit", "backup", "build", "check", "clean", "deploy", "dev", "doctor", "down",
    "exec", "history", "init", "logs", "prune", "restore", "rollback", "sbom", "schema",
    "secrets", "shell", "status",
}  # fmt: skip


def test_the_collection_has_every_documented_task_under_its_flat_name() -> None:
    ns = collection()
    assert set(ns.task_names) >= DOCUMENTED
    assert ns.task_names["status"] == ["ps"]


def _body_lines(task: Task[object]) -> int:
    """Statements of the task's function, without its docstring."""
    tree = ast.parse(inspect.getsource(inspect.unwrap(task.body)).strip())
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0  # type: ignore[operator]


def test_no_task_is_over_ten_lines() -> None:
    long = {name: n for name, task in collection().tasks.items() if (n := _body_lines(task)) > 10}
    assert long == {}


def test_the_adapters_import_no_module_under_an_alias() -> None:
    files = [
        ROOT / "tasks.py",
        ROOT / "noxfile.py",
        *sorted((ROOT / "src/slipway/cli").glob("*.py")),
    ]
    aliased = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if alias.asname and alias.asname != alias.name
    ]
    assert aliased == []


def test_tasks_py_is_the_collection_plus_this_repositorys_bench() -> None:
    import tasks  # noqa: PLC0415 (the repository's own tasks.py)

    assert set(tasks.ns.task_names) == set(collection().task_names) | {"bench"}


def test_the_slipway_command_runs_from_a_wheel_outside_the_repository(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run(
        [uv, "build", "--wheel", "--package", "slipway", "--out-dir", str(tmp_path), "-q"],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("slipway-*.whl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def slipway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [uv, "tool", "run", "--from", str(wheel), "slipway", *args],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    shown = slipway("--list")
    assert shown.returncode == 0, shown.stderr
    for name in ("deploy", "rollback", "status", "doctor", "sbom"):
        assert f"\n  {name} " in shown.stdout
    # The help comes from the wheel's help.json, the version from its metadata.
    helped = slipway("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: slipway [--core-opts] <subcommand>")
    assert "\nSubcommands:\n\n  audit " in helped.stdout
    assert slipway("--version").stdout.strip().startswith("slipway 0.")
    # Outside a project every task still answers in one line.
    status = slipway("status")
    assert status.returncode == 1
    assert status.stderr.strip().startswith("slipway: slipway.yaml: not found in")
    assert "Traceback" not in status.stderr


# --- the slipway command's flags and exit codes ---------------------------------------

SLIPWAY = str(Path(sys.executable).with_name("slipway"))
# invoke's core flags for its own c.run(), config files and bytecode: slipway offers none.
RUN_FLAGS = (
    "--dry", "-R", "--echo", "-e", "--pty", "-p", "--warn-only", "-w", "--hide=both",
    "--command-timeout=5", "-T5", "--prompt-for-sudo-password", "--write-pyc",
    "--config=x.yaml", "-f", "--list-depth=1",
)  # fmt: skip


def _slipway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (stdout a pipe)."""
    return subprocess.run(
        [SLIPWAY, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def _one_usage_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("slipway: ")
    for word in words:
        assert word in done.stderr


@pytest.mark.parametrize("flag", RUN_FLAGS)
def test_invokes_run_flags_are_usage_errors_and_run_nothing(flag: str, tmp_path: Path) -> None:
    # Outside a project `status` would say slipway.yaml is missing: it never runs.
    done = _slipway(flag, "status", cwd=tmp_path)

    _one_usage_line(done, "(slipway --help lists what it takes)")
    assert "slipway.yaml" not in done.stderr


def test_the_help_offers_only_the_flags_that_work(tmp_path: Path) -> None:
    shown = _slipway("--help", cwd=tmp_path).stdout
    core = shown.split("Subcommands:")[0]

    gone = ("--dry", "--echo", "--pty", "--warn-only", "--hide", "--command-timeout",
            "--prompt-for-sudo-password", "--write-pyc", "--config", "--list-depth")  # fmt: skip
    for flag in gone:
        assert flag not in core
    for flag in ("--help", "--version", "--list", "--complete", "--print-completion-script"):
        assert flag in core


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("nosuch",), ("'nosuch'", "slipway --help")),
        (("status", "--nosuch"), ("'--nosuch'", "slipway status --help")),
        (("logs", "--tail"), ("--tail needed value", "slipway logs --help")),
        (("init", "--port", "abc"), ("--port takes a whole number, not 'abc'", "init --help")),
        (("init", "--port=abc"), ("--port takes a whole number, not 'abc'",)),
    ],
)
def test_a_command_line_slipway_cannot_use_is_one_line_and_exit_2(
    args: tuple[str, ...], words: tuple[str, ...], tmp_path: Path
) -> None:
    done = _slipway(*args, cwd=tmp_path)

    _one_usage_line(done, *words)
    assert list(tmp_path.iterdir()) == []


def test_a_usage_error_of_the_library_exits_2(
    write_config: WriteConfig, config_data: dict[str, Any]
) -> None:
    root = write_config(config_data).parent

    _one_usage_line(_slipway("status", "--env", "nosuch", cwd=root), "unknown environment")


def test_a_failure_exits_1(tmp_path: Path) -> None:
    done = _slipway("status", cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr.startswith("slipway: slipway.yaml: not found")


@pytest.mark.parametrize("task", sorted(DOCUMENTED))
def test_no_task_flag_takes_h_from_the_help(task: str) -> None:
    ns = collection()
    # get_arguments consumes the task's help texts: ask a copy.
    each = copy.copy(ns[task])
    each.help = dict(each.help)

    assert all("h" not in arg.names for arg in each.get_arguments())


def test_h_after_a_task_is_its_help(tmp_path: Path) -> None:
    for args in (("init", "-h"), ("init", "--help"), ("-h", "init"), ("deploy", "-h")):
        done = _slipway(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        task = "init" if "init" in args else "deploy"
        assert done.stdout.startswith(f"Usage: slipway [--core-opts] {task} [--options]")
    # init wrote nothing: it only printed its help.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("--list",), ("--help",), ("init", "--help")])
def test_a_reader_that_goes_away_ends_the_command_quietly(args: tuple[str, ...]) -> None:
    read, write = os.pipe()
    # The reader is gone before slipway writes a byte: `slipway --list | head -0`.
    os.close(read)
    with os.fdopen(write, "wb") as stdout:
        done = subprocess.run(
            [SLIPWAY, *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )

    assert done.stderr == ""
    assert done.returncode == 141


def test_the_version_and_the_task_list_still_answer(tmp_path: Path) -> None:
    assert _slipway("--version", cwd=tmp_path).stdout.startswith("slipway ")
    listed = _slipway("--list", cwd=tmp_path)
    assert listed.returncode == 0
    assert "\n  deploy " in listed.stdout
    script = _slipway("--print-completion-script", "bash", cwd=tmp_path)
    assert script.returncode == 0
    assert "slipway" in script.stdout


def _ended(error: BaseException, capsys: pytest.CaptureFixture[str]) -> tuple[object, str]:
    """The exit code and stderr of a slipway Program whose one task raises ``error``."""

    @task
    @edge
    def fails(_c: Context) -> None:
        raise error

    program = Slipway(namespace=Collection(fails), name="slipway", binary="slipway")
    with pytest.raises(SystemExit) as ended:
        program.run(["slipway", "fails"])
    return ended.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CheckFailed("over budget"), 1),
        (UsageError("no such target"), 2),
        (NotChecked("no answer"), 3),
    ],
)
def test_each_slipway_error_exits_with_its_code(
    error: SlipwayError, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ended(error, capsys) == (code, f"slipway: {error}\n")


def test_ctrl_c_exits_130_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _ended(KeyboardInterrupt(), capsys) == (130, "slipway: interrupted\n")
