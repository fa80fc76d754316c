"""`slipway init`: what it infers from a uv project, and that it never
overwrites a file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import slipway
from slipway import init
from slipway.config import load
from slipway.config.names import URL_PATH
from slipway.errors import SlipwayError, UsageError
from slipway.init import tracking, writing

PYPROJECT = """\
[project]
name = "Hello_API"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn"]

[dependency-groups]
test = ["pytest"]
"""
LOCK = """\
version = 1
[[package]]
name = "fastapi"
version = "0.115.0"
[[package]]
name = "uvicorn"
version = "0.30.0"
[[package]]
name = "gunicorn"
version = "23.0.0"
"""


@pytest.fixture
def fastapi_project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    (tmp_path / "src/hello_api").mkdir(parents=True)
    (tmp_path / "src/hello_api/__init__.py").write_text("")
    (tmp_path / "src/hello_api/web.py").write_text(
        "from fastapi import FastAPI\n\napi = FastAPI()\n"
    )
    (tmp_path / "tests").mkdir()
    return tmp_path


def test_a_fastapi_app_is_served_by_uvicorn_on_the_given_port(fastapi_project: Path) -> None:
    project = init.inspect(fastapi_project, init.Flags(port=9000))
    assert project.name == "hello-api"
    assert project.command == (
        "uvicorn",
        "hello_api.web:api",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
    )
    assert project.dev_command[-1] == "--reload"
    assert project.migrate is None
    assert project.source == ("src",)
    assert project.test_groups == ("test",)


def test_alembic_ini_means_alembic_migrates(fastapi_project: Path) -> None:
    (fastapi_project / "alembic.ini").write_text("[alembic]\n")
    assert init.inspect(fastapi_project).migrate == ("alembic", "upgrade", "head")
    assert init.inspect(fastapi_project, init.Flags(migrate="none")).migrate is None


def test_a_django_project_is_served_by_gunicorn_and_migrates_with_manage_py(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "site"\n')
    (tmp_path / "uv.lock").write_text(LOCK)
    (tmp_path / "manage.py").write_text(
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n'
    )
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite/settings.py").write_text("")
    project = init.inspect(tmp_path)
    assert project.command[:2] == ("gunicorn", "mysite.wsgi:application")
    assert project.migrate == ("python", "manage.py", "migrate", "--noinput")
    assert project.source == ("manage.py", "mysite")


def test_a_given_command_wins(fastapi_project: Path) -> None:
    project = init.inspect(fastapi_project, init.Flags(command="hello serve --port 8000"))
    assert project.command == ("hello", "serve", "--port", "8000")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "is not a uv project: it has no pyproject.toml (create one with `uv init`)"),
        ({"pyproject.toml": PYPROJECT}, "pyproject.toml has no uv.lock beside it: run `uv lock`"),
        ({"pyproject.toml": "[project\n", "uv.lock": LOCK}, "pyproject.toml cannot be read: "),
        ({"pyproject.toml": "[tool.x]\n", "uv.lock": LOCK}, "pyproject.toml has no [project] name"),
        (
            {"pyproject.toml": '[project]\nname = "x"\n', "uv.lock": LOCK},
            "cannot tell how to start the server: pass --command",
        ),
    ],
)
def test_what_init_cannot_read_is_one_line_saying_what_to_do(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UsageError) as caught:
        init.inspect(tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # nothing written


def test_init_writes_every_file_then_a_second_run_changes_nothing(fastapi_project: Path) -> None:
    project = init.inspect(fastapi_project)
    first = init.init(project)
    assert "slipway.yaml" in first.written
    assert "compose/migrate.yaml" not in first.written  # nothing to migrate
    # No requires-python, no .python-version: the newest official image.
    assert "python: 3.14 on python:3.14-slim-trixie (the newest)" in init.summary(first, project)
    dockerfile = (fastapi_project / "docker/Dockerfile").read_text()
    assert "FROM python:3.14-slim-trixie AS base" in dockerfile
    assert "UV_PYTHON=3.14 " in dockerfile
    before = {p: p.read_bytes() for p in fastapi_project.rglob("*") if p.is_file()}

    second = init.init(project)

    assert second.written == ()
    assert {p: p.read_bytes() for p in fastapi_project.rglob("*") if p.is_file()} == before
    assert "nothing changed" in init.summary(second, project)


def test_an_existing_file_is_never_overwritten_and_is_listed(fastapi_project: Path) -> None:
    (fastapi_project / "Makefile").write_text("mine:\n\techo mine\n")
    (fastapi_project / ".gitignore").write_text("*.log\n.venv/")  # no final newline
    done = init.init(init.inspect(fastapi_project))
    assert (fastapi_project / "Makefile").read_text() == "mine:\n\techo mine\n"
    assert ("Makefile", "exists: left as it is") in done.skipped
    lines = (fastapi_project / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["*.log", ".venv/"]
    assert lines.count(".venv/") == 1
    assert "env/*.env" in lines


def slipway_init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slipway init` run as a user runs it, in ``cwd``."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "slipway"), "init", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_slipway_init_outside_a_uv_project_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    done = slipway_init(tmp_path)
    assert done.returncode == 2  # a UsageError
    assert done.stderr.strip() == (
        f"slipway: {tmp_path} is not a uv project: it has no pyproject.toml "
        "(create one with `uv init`)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A uv workspace: a tooling root project and the service as a member."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "tools"\n\n[tool.uv.workspace]\nmembers = ["apps/*"]\n'
    )
    (tmp_path / "uv.lock").write_text(LOCK)
    api = tmp_path / "apps/api"
    (api / "src/hello_api").mkdir(parents=True)
    (api / "pyproject.toml").write_text(PYPROJECT)
    (api / "src/hello_api/web.py").write_text("from fastapi import FastAPI\n\napi = FastAPI()\n")
    (api / "tests").mkdir()
    return tmp_path


def test_a_workspace_needs_package_and_names_the_choices(workspace: Path) -> None:
    with pytest.raises(UsageError) as caught:
        init.inspect(workspace)
    assert str(caught.value) == (
        "pyproject.toml is a uv workspace: pass --package with the one to ship (tools, hello-api)"
    )
    with pytest.raises(UsageError) as caught:
        init.inspect(workspace, init.Flags(package="nope"))
    assert str(caught.value) == (
        "--package nope: not this project nor a workspace member (tools, hello-api)"
    )


def test_a_workspace_member_is_found_served_and_synced_from_its_folder(workspace: Path) -> None:
    project = init.inspect(workspace, init.Flags(package="Hello_API"))
    assert (project.name, project.member, project.members) == (
        "hello-api",
        "apps/api",
        ("apps/api",),
    )
    assert project.command[:2] == ("uvicorn", "hello_api.web:api")
    assert project.source == ("apps/api/src",)

    written = init.files(project)
    dockerfile = written["docker/Dockerfile"]
    assert "source=apps/api/pyproject.toml,target=apps/api/pyproject.toml" in dockerfile
    assert "uv sync --locked --no-dev --package hello-api --no-install-workspace" in dockerfile
    assert dockerfile.count("WORKDIR /app/apps/api") == 3  # test, dev and prod start there
    assert (
        "path: ../apps/api/src\n          target: /app/apps/api/src" in written["compose/dev.yaml"]
    )
    assert "path: ../apps/api/pyproject.toml" in written["compose/dev.yaml"]
    assert "unit: [apps/api/tests]" in written["slipway.yaml"]
    assert "package: hello-api" in written["slipway.yaml"]


def test_a_single_project_dockerfile_has_no_workspace_lines(fastapi_project: Path) -> None:
    dockerfile = init.files(init.inspect(fastapi_project))["docker/Dockerfile"]
    assert "uv sync --locked --no-dev --no-install-project" in dockerfile
    assert "--package" not in dockerfile
    assert "WORKDIR /app/" not in dockerfile
    assert "{{" not in dockerfile


def test_the_library_knows_nothing_of_the_reference_service() -> None:
    """`grep -ri notes src/slipway` finds nothing: the notes service is a user
    of slipway like any other project."""
    library = Path(slipway.__file__).parent
    mentions = [
        f"{path.relative_to(library)}:{number}"
        for path in sorted(library.rglob("*"))
        if path.is_file() and path.suffix != ".pyc"
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if "notes" in line.lower()
    ]
    assert mentions == []


# --- init writes only what every later command accepts ------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (init.Flags(port=0), "--port: expected a port number (1-65535), got 0"),
        (init.Flags(port=70000), "--port: expected a port number (1-65535), got 70000"),
        (init.Flags(health_path="/a b"), f"--health-path: expected {URL_PATH.what}, got '/a b'"),
        (init.Flags(health_path="health"), f"--health-path: expected {URL_PATH.what}"),
        (init.Flags(health_path='/a"#'), f"--health-path: expected {URL_PATH.what}"),
        (
            init.Flags(command='uvicorn "app'),
            "--command: no closing quotation in 'uvicorn \"app': quote it as you would in a shell",
        ),
        (init.Flags(command="  "), "--command: expected a command, got '  '"),
        (init.Flags(migrate="alembic 'up"), "--migrate: no closing quotation in"),
        (init.Flags(command="serve \\"), "--command: no escaped character in"),
    ],
)
def test_a_flag_slipway_yaml_would_refuse_is_one_line_and_nothing_is_written(
    fastapi_project: Path, flags: init.Flags, message: str
) -> None:
    before = sorted(fastapi_project.rglob("*"))
    with pytest.raises(UsageError) as caught:
        init.init(init.inspect(fastapi_project, flags))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert sorted(fastapi_project.rglob("*")) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "0"), "slipway: --port: expected a port number (1-65535), got 0"),
        (("--port", "70000"), "slipway: --port: expected a port number (1-65535), got 70000"),
        (("--health-path", "/a b"), f"slipway: --health-path: expected {URL_PATH.what}"),
        (("--command", "uvicorn 'app"), "slipway: --command: no closing quotation in "),
    ],
)
def test_slipway_init_with_a_bad_flag_exits_2_with_one_line_and_writes_nothing(
    fastapi_project: Path, args: tuple[str, ...], message: str
) -> None:
    before = sorted(fastapi_project.rglob("*"))
    done = slipway_init(fastapi_project, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(fastapi_project.rglob("*")) == before


def test_a_package_name_that_gives_no_project_name_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "_"\nscripts = {serve = "x:y"}\n')
    (tmp_path / "uv.lock").write_text(LOCK)
    with pytest.raises(UsageError) as caught:
        init.init(init.inspect(tmp_path))
    assert str(caught.value).startswith(
        "slipway init would write a slipway.yaml that does not load: slipway.yaml:"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml", "uv.lock"]


def test_what_init_writes_loads(fastapi_project: Path) -> None:
    project = init.inspect(fastapi_project, init.Flags(port=65535, health_path="/ready?x=%20"))
    init.init(project)
    config = load(fastapi_project / "slipway.yaml")
    assert (config.port, config.health_path, config.project) == (65535, "/ready?x=%20", "hello-api")


def test_the_python_init_writes_passes_ruff_as_a_project_configures_it_by_default(
    fastapi_project: Path,
) -> None:
    """A project's own `make lint` runs ruff over what init wrote, with ruff's
    defaults (line length 88) or the project's: never slipway's settings."""
    init.init(init.inspect(fastapi_project, init.Flags(database="postgres")))
    written = sorted(str(p) for p in fastapi_project.rglob("*.py"))
    ruff = [sys.executable, "-m", "ruff"]
    for argv in (["format", "--check"], ["check", "--extend-select", "RUF100,I"]):
        done = subprocess.run(
            [*ruff, *argv, "--isolated", *written], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_init_never_writes_through_a_symlink(
    fastapi_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "folder").mkdir()
    (outside / "ignored").write_text("mine\n")
    (fastapi_project / "Makefile").symlink_to(outside / "Makefile")  # dangling
    (fastapi_project / "compose").symlink_to(outside / "folder")
    (fastapi_project / ".gitignore").symlink_to(outside / "ignored")
    (fastapi_project / ".slipway").symlink_to(outside / "folder")

    done = init.init(init.inspect(fastapi_project))

    assert sorted(p.name for p in outside.rglob("*")) == ["folder", "ignored"]
    assert (outside / "ignored").read_text() == "mine\n"
    assert ("Makefile", "Makefile is a symlink: left as it is") in done.skipped
    assert ("compose/base.yaml", "compose is a symlink: left as it is") in done.skipped
    assert (".gitignore", ".gitignore is a symlink: left as it is") in done.skipped
    assert "slipway.yaml" in done.written


def test_a_file_where_init_needs_a_folder_is_skipped(fastapi_project: Path) -> None:
    (fastapi_project / "env").write_text("mine\n")
    done = init.init(init.inspect(fastapi_project))
    assert ("env/prod.env.example", "env is not a folder: left as it is") in done.skipped
    assert (fastapi_project / "env").read_text() == "mine\n"


def test_a_command_is_written_as_given(fastapi_project: Path) -> None:
    flags = init.Flags(command="serve {{port}} '$HOME'", migrate="migrate ${DB}")
    written = init.files(init.inspect(fastapi_project, flags))
    assert 'CMD ["serve", "{{port}}", "$HOME"]' in written["docker/Dockerfile"]
    assert 'command: ["migrate", "$${DB}"]' in written["compose/migrate.yaml"]


def test_a_file_init_cannot_write_is_one_line(
    fastapi_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = writing.create

    def refused(path: Path, text: str) -> None:
        if path.name == "Dockerfile":
            raise PermissionError(13, "Permission denied")
        create(path, text)

    monkeypatch.setattr(writing, "create", refused)
    with pytest.raises(SlipwayError) as caught:
        init.init(init.inspect(fastapi_project))
    assert str(caught.value) == (
        "cannot write docker/Dockerfile: Permission denied (wrote slipway.yaml)"
    )


def test_init_in_a_workspace_members_folder_says_where_to_run_it(workspace: Path) -> None:
    member = workspace / "apps/api"
    before = sorted(workspace.rglob("*"))
    done = slipway_init(member)
    assert done.returncode == 2
    assert done.stderr == (
        f"slipway: this folder is the workspace member hello-api of {workspace.resolve()}: "
        "run `slipway init --package hello-api` at the workspace root (../..)\n"
    )
    assert sorted(workspace.rglob("*")) == before

    # A folder the workspace excludes is a project of its own, as uv sees it.
    (workspace / "pyproject.toml").write_text(
        '[project]\nname = "tools"\n\n[tool.uv.workspace]\nmembers = ["apps/*"]\n'
        'exclude = ["apps/api"]\n'
    )
    with pytest.raises(UsageError, match=r"no uv\.lock beside it"):
        init.inspect(member)


# Lines of GitHub's standard Python .gitignore, its "Environments" section
# among them: there env/ is a virtualenv's folder, here slipway's env files'.
GITHUB_PYTHON = "__pycache__/\nbuild/\nlib/\n.env\n.envrc\n.venv\nenv/\nvenv/\nENV/\nenv.bak/\n"
Git = Callable[..., str]


@pytest.fixture
def git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Git:
    """Real git, with none of this machine's configuration or global ignores."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))

    def run(root: Path, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )
        return done.stdout

    return run


def _ignored(git: Git, root: Path, *paths: str) -> list[str]:
    """Which of the paths git would ignore in a fresh clone."""
    return git(root, "check-ignore", "--no-index", *paths).split()


def test_what_git_would_ignore_is_kept_tracked_and_the_real_env_files_stay_ignored(
    fastapi_project: Path, git: Git
) -> None:
    (fastapi_project / ".gitignore").write_text(GITHUB_PYTHON)
    project = init.inspect(fastapi_project)
    assert tracking.ignored(fastapi_project, ["env/prod.env.example"]) == {}  # not in git yet
    git(fastapi_project, "init", "-q")

    done = init.init(project)

    assert done.warnings == (
        "git ignored env/dev.env.example, env/prod.env.example (.gitignore:7:env/): added "
        "!/env/, /env/*, !/env/*.env.example to .gitignore to keep them tracked",
    )
    assert "warning: git ignored env/dev.env.example" in init.summary(done, project)
    examples = ("env/prod.env.example", "env/dev.env.example")
    secret = ("env/prod.env", "env/dev.env", "env/other", "secrets/db_password", ".venv/x")
    assert _ignored(git, fastapi_project, *examples, *secret) == list(secret)
    assert init.init(project).warnings == ()  # a second run: nothing left to keep


def test_a_folder_or_file_git_ignores_is_kept_each_by_its_own_lines(
    fastapi_project: Path, git: Git
) -> None:
    (fastapi_project / ".gitignore").write_text("docker\n*.yaml\nMakefile\n")
    git(fastapi_project, "init", "-q")

    done = init.init(init.inspect(fastapi_project))

    assert done.warnings == (
        "git ignored Makefile (.gitignore:3:Makefile): added !/Makefile to .gitignore to keep "
        "it tracked",
        "git ignored compose/base.yaml, compose/dev.yaml, compose/prod.yaml, slipway.yaml "
        "(.gitignore:2:*.yaml): added !/compose/base.yaml, !/compose/dev.yaml, "
        "!/compose/prod.yaml, !/slipway.yaml to .gitignore to keep them tracked",
        "git ignored docker/Dockerfile, docker/entrypoint.py, docker/healthcheck.py, "
        "docker/heartbeat.py (.gitignore:1:docker): added !/docker/, /docker/*, "
        "!/docker/Dockerfile, !/docker/entrypoint.py, !/docker/healthcheck.py, "
        "!/docker/heartbeat.py to .gitignore to keep them tracked",
    )
    written = list(init.files(init.inspect(fastapi_project)))
    assert _ignored(git, fastapi_project, *written, "docker/other") == ["docker/other"]


def test_what_init_cannot_keep_tracked_is_named_with_what_to_do(
    fastapi_project: Path, git: Git
) -> None:
    (fastapi_project / ".gitignore").write_text(GITHUB_PYTHON)
    (fastapi_project / "env").mkdir()
    (fastapi_project / "env/.gitignore").write_text("*\n")  # nearer than .gitignore: it wins
    git(fastapi_project, "init", "-q")

    done = init.init(init.inspect(fastapi_project))

    assert done.warnings[1:] == (
        "git still ignores env/dev.env.example, env/prod.env.example (env/.gitignore:1:*), so "
        "a fresh clone lacks them: change that rule, or `git add -f` env/dev.env.example "
        "env/prod.env.example",
    )


def test_a_worker_asked_for_is_a_role_of_the_release_with_its_database(
    fastapi_project: Path,
) -> None:
    flags = init.Flags(worker="python -m hello_api.worker", database="postgres")
    files = init.files(init.inspect(fastapi_project, flags))
    worker = yaml.safe_load(files["compose/worker.yaml"])["services"]["worker"]
    assert worker["command"] == ["python", "-m", "hello_api.worker"]
    assert worker["image"].startswith("${SLIPWAY_IMAGE:?")
    assert "healthcheck" not in worker  # slipway gives it the heartbeat probe
    settings = yaml.safe_load(files["slipway.yaml"])
    prod = settings["environments"]["prod"]
    assert prod["roles"] == {"worker": {"replicas": 1}}
    assert "compose/worker.yaml" in prod["compose_files"]
    assert "compose/worker.yaml" in settings["environments"]["dev"]["compose_files"]
    on_db = yaml.safe_load(files["compose/postgres.yaml"])["services"]["worker"]
    assert on_db["secrets"] == ["db_password"]
    assert on_db["networks"] == ["db"]
    assert "docker/heartbeat.py" in files
    # Without the flag, none of it.
    plain = init.files(init.inspect(fastapi_project))
    assert "compose/worker.yaml" not in plain
    assert "roles" not in yaml.safe_load(plain["slipway.yaml"])["environments"]["prod"]
