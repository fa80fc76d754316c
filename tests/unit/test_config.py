"""slipway.config: slipway.yaml is read once, validated with precise messages, frozen."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from slipway import state
from slipway.cli import start
from slipway.config import CONFIG_ENV, Config, Target, TargetConfig, json_schema, load, names, parse
from slipway.errors import ConfigError, UsageError

REPO = Path(__file__).resolve().parents[2]

WriteConfig = Callable[[object], Path]
Data = dict[str, Any]


def _config_error(write_config: WriteConfig, data: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load(write_config(data))
    return str(caught.value)


# --- the repository's own slipway.yaml --------------------------------------


def test_repo_config_loads_with_every_target_budgeted() -> None:
    config = load(REPO / "slipway.yaml")

    assert config.project == "slipway"
    assert config.image == "slipway/notes"
    assert config.service == "app"
    assert config.root == REPO
    assert config.dockerfile == REPO / "docker" / "Dockerfile"
    assert config.context == REPO
    assert set(config.targets) == set(Target)
    for target, settings in config.targets.items():
        assert settings.target is target
        assert settings.size_budget_mb is not None
        assert settings.size_budget_mb > 0


def test_repo_config_loads_the_prod_environment() -> None:
    config = load(REPO / "slipway.yaml")

    prod = config.environment("prod")
    assert prod.target is Target.PROD
    assert prod.compose_files == (REPO / "compose/base.yaml", REPO / "compose/prod.yaml")
    assert prod.env_file == REPO / "env/prod.env"
    assert prod.health_timeout == 90


def test_repo_environments_use_existing_compose_files_and_committed_examples() -> None:
    config = load(REPO / "slipway.yaml")

    for env in config.environments.values():
        assert env.compose_files[0] == REPO / "compose/base.yaml"
        assert all(path.is_file() for path in env.compose_files)
        assert env.env_example.is_file(), f"{env.env_example} is not committed"
        assert env.health_timeout > 0


# --- finding and reading the file --------------------------------------------


def test_load_reads_slipway_yaml_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig, config_data: Data
) -> None:
    path = write_config(config_data)
    monkeypatch.chdir(path.parent)

    assert load().path == path


def _write_other(project_root: Path, data: Data) -> Path:
    other = project_root / "other.yaml"
    other.write_text(yaml.safe_dump(data))
    return other


def test_slipway_config_env_var_points_load_at_another_file(
    monkeypatch: pytest.MonkeyPatch,
    project_root: Path,
    config_data: Data,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    other = _write_other(project_root, config_data)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    monkeypatch.setenv(CONFIG_ENV, str(other))

    config = load()

    assert config.path == other
    assert config.root == project_root
    assert config.environment("prod").env_file == project_root / "env/prod.env"


def test_errors_name_the_file_slipway_config_points_at(
    monkeypatch: pytest.MonkeyPatch, project_root: Path, config_data: Data
) -> None:
    config_data["colour"] = "blue"
    monkeypatch.setenv(CONFIG_ENV, str(_write_other(project_root, config_data)))

    with pytest.raises(ConfigError, match=r"^other\.yaml:\d+: colour: unknown key"):
        load()


def test_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "slipway.yaml")

    assert str(caught.value) == (
        f"slipway.yaml: not found in {tmp_path.resolve()}; run from the project root"
    )


def test_unreadable_file_says_why(tmp_path: Path) -> None:
    (tmp_path / "slipway.yaml").mkdir()

    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "slipway.yaml")

    assert str(caught.value) == "slipway.yaml: cannot be read (Is a directory)"


def test_broken_yaml_names_line_and_column(write_config: WriteConfig) -> None:
    message = _config_error(write_config, "project: slipway\n  image: slipway/notes\n")

    assert message == (
        "slipway.yaml: invalid YAML at line 2, column 8: mapping values are not allowed here"
    )


def test_unclosed_flow_list_is_invalid_yaml(write_config: WriteConfig) -> None:
    message = _config_error(write_config, "project: slipway\nimage: [slipway/notes\n")

    assert message.startswith("slipway.yaml: invalid YAML at line 3, column 1: ")
    assert "\n" not in message


# --- every invalid key is named, with its dotted path ------------------------


def _set(*keys: str, value: object) -> Callable[[Data], None]:
    """A mutation of the valid config data: set data[k1][k2]... = value."""

    def mutate(data: Data) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return mutate


def _delete(*keys: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return mutate


INVALID = [
    pytest.param(
        _set("colour", value="blue"),
        "colour",
        "unknown key (expected one of project, image, dockerfile, context, service, port, "
        "health_path, package, migrate, "
        "targets, environments, backups, tests)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        _set("environments", "prod", "helth_timeout", value=90),
        "environments.prod.helth_timeout",
        "unknown key (expected one of target, compose_files, env_file, health_timeout, "
        "replicas, keep_releases, orchestrator, registry, engine, build, listen, https, roles)",
        id="unknown-environment-key",
    ),
    pytest.param(
        _set("targets", "prod", "size_budget", value=250),
        "targets.prod.size_budget",
        "unknown key (expected one of size_budget_mb)",
        id="unknown-target-key",
    ),
    pytest.param(
        _set("backups", value={"kept": 3}),
        "backups.kept",
        "unknown key (expected one of dir, keep)",
        id="unknown-backups-key",
    ),
    pytest.param(
        _set("tests", value={"docker": []}),
        "tests.docker",
        "unknown key (expected one of unit, engine, compose_files)",
        id="unknown-tests-key",
    ),
    pytest.param(
        _set("targets", "staging", value={"size_budget_mb": 100}),
        "targets.staging",
        "unknown target (the Dockerfile's targets are dev, test, prod)",
        id="unknown-target-name",
    ),
    pytest.param(
        _set("environments", "prod", "health_timeout", value="soon"),
        "environments.prod.health_timeout",
        "expected a positive integer, got 'soon'",
        id="health-timeout-text",
    ),
    pytest.param(
        _set("environments", "prod", "health_timeout", value=0),
        "environments.prod.health_timeout",
        "expected a positive integer, got 0",
        id="health-timeout-zero",
    ),
    pytest.param(
        _set("environments", "prod", "health_timeout", value=True),
        "environments.prod.health_timeout",
        "expected a positive integer, got True",
        id="health-timeout-bool",
    ),
    pytest.param(
        _set("environments", "prod", "replicas", value=0),
        "environments.prod.replicas",
        "expected a positive integer, got 0",
        id="replicas-zero",
    ),
    pytest.param(
        _set("environments", "prod", "replicas", value=-2),
        "environments.prod.replicas",
        "expected a positive integer, got -2",
        id="replicas-negative",
    ),
    pytest.param(
        _set("environments", "prod", "replicas", value="two"),
        "environments.prod.replicas",
        "expected a positive integer, got 'two'",
        id="replicas-text",
    ),
    pytest.param(
        _set("targets", "prod", "size_budget_mb", value=-1),
        "targets.prod.size_budget_mb",
        "expected a positive integer, got -1",
        id="size-budget-negative",
    ),
    pytest.param(
        _set("targets", "prod", "size_budget_mb", value=2.5),
        "targets.prod.size_budget_mb",
        "expected a positive integer, got 2.5",
        id="size-budget-float",
    ),
    pytest.param(
        _set("targets", "prod", value=250),
        "targets.prod",
        "expected a mapping, got 250",
        id="target-settings-not-a-mapping",
    ),
    pytest.param(
        _set("environments", "prod", "compose_files", value="compose/base.yaml"),
        "environments.prod.compose_files",
        "expected a non-empty list of file names, got 'compose/base.yaml'",
        id="compose-files-not-a-list",
    ),
    pytest.param(
        _set("environments", "prod", "compose_files", value={"base": "compose/base.yaml"}),
        "environments.prod.compose_files",
        "expected a non-empty list of file names, got a dict",
        id="compose-files-a-mapping",
    ),
    pytest.param(
        _set("environments", "prod", "compose_files", value=["compose/missing.yaml"]),
        "environments.prod.compose_files",
        "compose/missing.yaml does not exist",
        id="compose-file-missing",
    ),
    pytest.param(
        _set("environments", "prod", "compose_files", value=["compose"]),
        "environments.prod.compose_files",
        "compose does not exist",
        id="compose-file-is-a-directory",
    ),
    pytest.param(
        _delete("targets", "dev"),
        "environments.dev.target",
        "'dev' is not one of the targets above",
        id="environment-target-not-defined",
    ),
    pytest.param(
        _set("environments", "prod", "target", value="staging"),
        "environments.prod.target",
        "'staging' is not one of the targets above",
        id="environment-target-unknown",
    ),
    pytest.param(
        _delete("environments", "prod", "target"),
        "environments.prod.target",
        "missing",
        id="environment-target-missing",
    ),
    pytest.param(
        _delete("environments", "prod", "env_file"),
        "environments.prod.env_file",
        "missing",
        id="env-file-missing",
    ),
    pytest.param(
        _set("environments", "prod", value="compose/prod.yaml"),
        "environments.prod",
        "expected a mapping, got 'compose/prod.yaml'",
        id="environment-not-a-mapping",
    ),
    pytest.param(
        _set("environments", value=None),
        "environments",
        "expected a mapping, got nothing",
        id="environments-empty",
    ),
    pytest.param(_delete("targets"), "targets", "missing", id="targets-missing"),
    pytest.param(_delete("project"), "project", "missing", id="project-missing"),
    pytest.param(
        _set("image", value=""),
        "image",
        "expected a non-empty string, got ''",
        id="image-empty",
    ),
    pytest.param(
        _set("service", value=["app"]),
        "service",
        "expected a non-empty string, got a list",
        id="service-a-list",
    ),
    pytest.param(
        _set("dockerfile", value="docker/Dockerfile.missing"),
        "dockerfile",
        "docker/Dockerfile.missing does not exist",
        id="dockerfile-missing",
    ),
    pytest.param(
        _set("context", value="service"),
        "context",
        "service does not exist",
        id="context-missing",
    ),
    pytest.param(
        _set("environments", "prod", "https", value={"hosts": []}),
        "environments.prod.https.hosts",
        "List should have at least 1 item after validation, not 0",
        id="https-no-hosts",
    ),
    pytest.param(
        _set("environments", "prod", "https", value={"hosts": ["bad host"]}),
        "environments.prod.https.hosts.0",
        "expected a host name (letters, digits and -, labels joined by ., a first label * "
        "for a wildcard) or an IP address, got 'bad host'",
        id="https-bad-host",
    ),
    pytest.param(
        _set("environments", "prod", "https", value={"hosts": ["x.test"], "key": "k.pem"}),
        "environments.prod.https.certificate",
        "key is set without certificate: give both, or neither for the local CA's",
        id="https-key-alone",
    ),
    pytest.param(
        _set(
            "environments",
            "prod",
            "https",
            value={"hosts": ["x.test"], "certificate": "c.pem", "key": "k.pem"},
        ),
        "environments.prod.https.certificate",
        "c.pem does not exist",
        id="https-certificate-missing",
    ),
    pytest.param(
        _set("environments", "prod", "https", value={"hosts": ["x.test"], "hsts": True}),
        "environments.prod.https.hsts",
        "give HSTS's max-age in seconds (31536000 is a year), or false",
        id="https-hsts-without-max-age",
    ),
]


@pytest.mark.parametrize(("mutate", "key", "why"), INVALID)
def test_invalid_config_names_the_file_and_the_dotted_key(
    write_config: WriteConfig,
    config_data: Data,
    mutate: Callable[[Data], None],
    key: str,
    why: str,
) -> None:
    mutate(config_data)

    message = _config_error(write_config, config_data)

    assert re.fullmatch(rf"slipway\.yaml:\d+: {re.escape(key)}: {re.escape(why)}", message), message


def test_empty_file_reports_the_first_missing_key(write_config: WriteConfig) -> None:
    assert _config_error(write_config, "") == "slipway.yaml: project: missing"


def test_errors_name_the_line_of_the_key() -> None:
    text = (REPO / "slipway.yaml").read_text()
    broken = text.replace("    health_timeout: 90\n", "    health_timeout: soon\n", 1)
    line = broken.splitlines().index("    health_timeout: soon") + 1
    with pytest.raises(ConfigError) as caught:
        parse(yaml.safe_load(broken), REPO / "slipway.yaml", tree=yaml.compose(broken))
    assert str(caught.value) == (
        f"slipway.yaml:{line}: environments.prod.health_timeout: "
        "expected a positive integer, got 'soon'"
    )


def test_a_service_the_compose_files_do_not_define_is_refused_before_anything_runs(
    write_config: WriteConfig, config_data: Data
) -> None:
    config_data["service"] = "web"
    message = _config_error(write_config, config_data)
    assert re.fullmatch(
        r"slipway\.yaml:\d+: service: 'web' is not a service of dev's compose files "
        r"\(compose/base\.yaml, compose/dev\.yaml define app, migrate\)",
        message,
    ), message


def test_the_committed_json_schema_is_the_models_own() -> None:
    committed = json.loads((REPO / "src/slipway/schema/slipway.schema.json").read_text())
    assert committed == json_schema()
    assert committed["properties"]["environments"]["additionalProperties"]["$ref"]


def test_loading_only_reads(write_config: WriteConfig, config_data: dict[str, object]) -> None:
    path = write_config(config_data)
    before = sorted(path.parent.rglob("*"))

    load(path)

    assert sorted(path.parent.rglob("*")) == before
    assert not (path.parent / ".slipway").exists()


def test_every_command_keeps_the_projects_schema_copy_the_installed_one(
    monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig, config_data: dict[str, object]
) -> None:
    path = write_config(config_data)
    monkeypatch.setenv(CONFIG_ENV, str(path))
    copy = path.parent / ".slipway/slipway.schema.json"
    assert not copy.exists()  # a fresh clone: .slipway is git-ignored

    assert start.load().path == path
    assert json.loads(copy.read_text()) == json_schema()

    copy.write_text("{}")  # written by an older slipway
    start.load()
    assert json.loads(copy.read_text()) == json_schema()


def test_parse_names_the_given_file_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"targets": {}, "environments": {}}, tmp_path / "custom.yaml")

    assert str(caught.value) == "custom.yaml: project: missing"


# --- defaults ---------------------------------------------------------------


def test_health_timeout_defaults_to_60_seconds(config: Config) -> None:
    assert config.environment("dev").health_timeout == 60


def test_replicas_default_to_one(config: Config) -> None:
    assert config.environment("dev").replicas == 1
    assert config.environment("prod").replicas == 1


def test_replicas_are_read_when_given(write_config: WriteConfig, config_data: Data) -> None:
    config_data["environments"]["prod"]["replicas"] = 3

    config = load(write_config(config_data))

    assert config.environment("prod").replicas == 3
    assert config.environment("dev").replicas == 1


def test_target_without_settings_has_no_size_budget(config: Config) -> None:
    assert config.targets[Target.DEV] == TargetConfig(Target.DEV, None)


def test_service_dockerfile_and_context_have_defaults(
    write_config: WriteConfig, config_data: Data, project_root: Path
) -> None:
    for key in ("service", "dockerfile", "context"):
        del config_data[key]

    config = load(write_config(config_data))

    assert config.service == "app"
    assert config.dockerfile == project_root / "docker/Dockerfile"
    assert config.context == project_root


def test_paths_are_resolved_against_the_config_folder(config: Config, project_root: Path) -> None:
    dev = config.environment("dev")

    assert dev.compose_files == (
        project_root / "compose/base.yaml",
        project_root / "compose/dev.yaml",
    )
    assert dev.env_file == project_root / "env/dev.env"


def test_env_file_need_not_exist_yet(config: Config, project_root: Path) -> None:
    assert not (project_root / "env").exists()
    assert config.environment("prod").env_file == project_root / "env/prod.env"


# --- the frozen result --------------------------------------------------------


def test_config_is_frozen(config: Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.project = "other"  # type: ignore[misc]


def test_environment_is_frozen(config: Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.environment("prod").health_timeout = 1  # type: ignore[misc]


def test_targets_mapping_is_read_only(config: Config) -> None:
    with pytest.raises(TypeError):
        config.targets[Target.PROD] = TargetConfig(Target.PROD, 1)  # type: ignore[index]


def test_environments_mapping_is_read_only(config: Config) -> None:
    with pytest.raises(TypeError):
        del config.environments["prod"]  # type: ignore[attr-defined]


# --- looking things up --------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "test", "prod"])
def test_target_parse_accepts_the_stage_names(name: str) -> None:
    assert Target.parse(name).value == name


def test_target_parse_lists_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        Target.parse("foo")

    assert str(caught.value) == "unknown target 'foo': choose one of dev, test, prod"


def test_unknown_environment_names_the_choices(config: Config) -> None:
    with pytest.raises(UsageError) as caught:
        config.environment("nope")

    assert str(caught.value) == "unknown environment 'nope': slipway.yaml defines dev, prod"


def test_env_example_is_the_env_file_plus_example(config: Config, project_root: Path) -> None:
    assert config.environment("prod").env_example == project_root / "env/prod.env.example"


def test_image_ref_is_the_image_tagged_by_target(config: Config) -> None:
    assert config.image_ref(Target.PROD) == "slipway/notes:prod"
    assert config.image_ref(Target.DEV) == "slipway/notes:dev"


def test_state_dir_is_dot_slipway_under_the_root(config: Config, project_root: Path) -> None:
    assert state.folder(config) == project_root / ".slipway"


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("port", 0, "expected a port number (1-65535), got 0"),
        ("port", "8000", "expected a port number (1-65535), got '8000'"),
        ("health_path", "health", f"expected {names.URL_PATH.what}, got 'health'"),
    ],
)
def test_port_and_health_path_are_checked(
    write_config: WriteConfig, config_data: Data, key: str, value: object, why: str
) -> None:
    config_data[key] = value
    assert re.fullmatch(
        rf"slipway\.yaml:\d+: {key}: {re.escape(why)}", _config_error(write_config, config_data)
    )


_ENV = names.ENVIRONMENT.what


@pytest.mark.parametrize(
    ("mutate", "key", "why"),
    [
        (_set("project", value="My App"), "project", f"expected {names.PROJECT.what}"),
        (_set("project", value="../x"), "project", f"expected {names.PROJECT.what}"),
        (_set("project", value="-app"), "project", f"expected {names.PROJECT.what}"),
        (_set("image", value="slipway/Notes"), "image", f"expected {names.IMAGE.what}"),
        (_set("image", value="slipway/notes:1.0"), "image", f"expected {names.IMAGE.what}"),
        (_set("image", value="slipway//notes"), "image", f"expected {names.IMAGE.what}"),
        (_set("image", value="slipway/notes."), "image", f"expected {names.IMAGE.what}"),
        (_set("service", value="app web"), "service", f"expected {names.SERVICE.what}"),
        (_set("migrate", value="../m"), "migrate", f"expected {names.SERVICE.what}"),
        *(
            (_set("health_path", value=path), "health_path", f"expected {names.URL_PATH.what}")
            for path in ('/a"b', "/a'b", "/a b", "/a#b", "/a\nb", "/a\\b", "/${X}", "/a\n")
        ),
        *(
            (_set("environments", name, value=env), f"environments.{name}", f"expected {_ENV}")
            for name in ("../../x", "..", "a/b", "Prod", "a.b", "-x", "a b")
            for env in [{"target": "prod", "compose_files": ["compose/base.yaml"], "env_file": "e"}]
        ),
    ],
)
def test_names_compose_docker_files_or_haproxy_cannot_take_are_refused_at_load(
    write_config: WriteConfig,
    config_data: Data,
    mutate: Callable[[Data], None],
    key: str,
    why: str,
) -> None:
    mutate(config_data)

    message = _config_error(write_config, config_data)

    assert re.fullmatch(rf"slipway\.yaml:\d+: {re.escape(key)}: {re.escape(why)}, got .*", message)
    assert "\n" not in message


def test_an_environment_name_that_is_a_path_is_refused_before_anything_is_written(
    write_config: WriteConfig, config_data: Data, tmp_path: Path
) -> None:
    config_data["environments"]["../../escaped"] = config_data["environments"]["prod"]

    _config_error(write_config, config_data)

    assert not list(tmp_path.parent.glob("escaped*"))
    assert not (tmp_path / ".slipway").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("project", "my_app-2"),
        ("image", "localhost:5000/team/my-app"),
        ("image", "registry.example.com/a/b__c.d--e"),
        ("image", "app"),
        ("service", "web.1_a-b"),
        ("health_path", "/api/v1/health?full=1&x=%20;y,(z)*+!@:~"),
    ],
)
def test_names_compose_and_docker_take_are_accepted(
    write_config: WriteConfig, config_data: Data, project_root: Path, key: str, value: str
) -> None:
    (project_root / "compose/base.yaml").write_text(
        f"services:\n  {value if key == 'service' else 'app'}: {{}}\n  migrate: {{}}\n"
    )
    config_data[key] = value
    config_data["environments"]["prod-eu_1"] = config_data["environments"].pop("prod")

    config = load(write_config(config_data))

    assert getattr(config, key) == value
    assert set(config.environments) == {"dev", "prod-eu_1"}


def test_port_and_health_path_default_to_8000_and_health(config: Config) -> None:
    assert (config.port, config.health_path) == (8000, "/health")


def test_the_migrate_step_is_the_migrate_service_when_the_compose_files_have_one(
    config: Config,
) -> None:
    assert config.migrate == "migrate"


def test_without_a_migrate_service_there_is_no_migrate_step(
    write_config: WriteConfig, config_data: Data, project_root: Path
) -> None:
    (project_root / "compose/base.yaml").write_text("services:\n  app: {}\n")
    assert load(write_config(config_data)).migrate is None


def test_null_turns_the_migrate_step_off(write_config: WriteConfig, config_data: Data) -> None:
    config_data["migrate"] = None
    assert load(write_config(config_data)).migrate is None


def test_a_migrate_service_the_compose_files_lack_is_refused(
    write_config: WriteConfig, config_data: Data
) -> None:
    config_data["migrate"] = "upgrade"
    assert re.fullmatch(
        r"slipway\.yaml:\d+: migrate: 'upgrade' is not a service of dev's compose files .*",
        _config_error(write_config, config_data),
    )
