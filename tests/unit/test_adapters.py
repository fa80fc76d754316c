"""The adapters are assembly: the library's collection, short tasks, no aliases."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

from invoke.tasks import Task

from slipway.cli import collection

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
