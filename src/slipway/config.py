"""slipway.yaml: read once, validated once (pydantic), frozen.

Every error is one line naming the file, the line and the key
(``slipway.yaml:23: environments.prod.health_timeout: expected a positive
integer, got 'soon'``). The same models give slipway.yaml's JSON Schema
(:func:`json_schema`, committed as ``src/slipway/schema/slipway.schema.json``).
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from slipway import names
from slipway.errors import ConfigError, UsageError

CONFIG_NAME = "slipway.yaml"
# Where a test or a user points slipway at another config file.
CONFIG_ENV = "SLIPWAY_CONFIG"
# The published schema, shipped in the package; a project's copy, which the
# slipway.yaml `slipway init` writes names for editors, is kept beside its state.
SCHEMA = Path(__file__).parent / "schema" / "slipway.schema.json"
PROJECT_SCHEMA = Path(".slipway") / "slipway.schema.json"


class Target(enum.StrEnum):
    """The Dockerfile stages users build; values equal the stage names."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"

    @classmethod
    def parse(cls, name: str) -> Target:
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(t.value for t in cls)
            raise UsageError(f"unknown target {name!r}: choose one of {choices}") from None


@dataclass(frozen=True)
class TargetConfig:
    target: Target
    size_budget_mb: int | None


@dataclass(frozen=True)
class Environment:
    name: str
    target: Target
    compose_files: tuple[Path, ...]
    env_file: Path
    health_timeout: int
    # App containers behind the proxy.
    replicas: int = 1
    # Release images kept (the newest healthy ones, plus the running one).
    keep_releases: int = 5

    @property
    def env_example(self) -> Path:
        """The committed example the real env file is created from."""
        return self.env_file.with_name(self.env_file.name + ".example")


@dataclass(frozen=True)
class Backups:
    """Where `invoke backup` writes, and how many backups it keeps per environment."""

    dir: Path
    keep: int


@dataclass(frozen=True)
class Tests:
    """What `nox -s tests` (unit: no engine) and `nox -s docker_tests` (engine) run."""

    unit: tuple[Path, ...]
    engine: tuple[Path, ...]


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    project: str
    image: str
    dockerfile: Path
    context: Path
    service: str
    # Where the service answers inside its container, and its liveness path.
    port: int
    health_path: str
    # The one-shot compose service that migrates before a release serves, if any.
    migrate: str | None
    # The uv project (or workspace member) the images install; its locked
    # dependencies are what the SBOM and the audit cover. None: no
    # pyproject.toml names one (sbom and audit then say so).
    package: str | None
    targets: Mapping[Target, TargetConfig]
    environments: Mapping[str, Environment]
    backups: Backups
    tests: Tests = Tests((), ())

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            choices = ", ".join(sorted(self.environments))
            raise UsageError(
                f"unknown environment {name!r}: {self.path.name} defines {choices}"
            ) from None

    def image_ref(self, target: Target) -> str:
        """The moving tag of a target's image, e.g. ``myapp:prod``."""
        return f"{self.image}:{target.value}"

    def show(self, path: Path) -> str:
        """A path as users typed it: relative to the project when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def state_dir(self) -> Path:
        """Git-ignored folder where slipway keeps what it deployed."""
        return self.root / ".slipway"


# --- the file's shape, as pydantic models ---------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    return repr(value)


def _invalid(why: str, value: object) -> PydanticCustomError:
    return PydanticCustomError("slipway", "{why}, got {got}", {"why": why, "got": _kind(value)})


def _text(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("expected a non-empty string", value)
    return value


def _count(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _invalid("expected a positive integer", value)
    return value


def _names(value: object) -> object:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _invalid("expected a non-empty list of file names", value)
    return value


def _paths(value: object) -> object:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid("expected a list of paths", value)
    return value


def _port(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _invalid("expected a port number (1-65535)", value)
    return value


def _named(rule: names.Rule) -> Callable[[object], object]:
    """A validator of a non-empty string that ``rule`` allows."""

    def check(value: object) -> object:
        if not rule.matches(_text(value)):
            raise _invalid(f"expected {rule.what}", value)
        return value

    return check


# Field() comes before the validator so that pydantic writes its constraints
# as JSON Schema keywords (minimum, pattern...) rather than as `ge` or `gt`.
Text = Annotated[str, Field(min_length=1), BeforeValidator(_text)]
Port = Annotated[int, Field(ge=1, le=65535), BeforeValidator(_port)]
Count = Annotated[int, Field(gt=0), BeforeValidator(_count)]
FileNames = Annotated[list[str], Field(min_length=1), BeforeValidator(_names)]
Paths = Annotated[list[str], BeforeValidator(_paths)]
HealthPath = Annotated[
    str, Field(pattern=names.URL_PATH.pattern), BeforeValidator(_named(names.URL_PATH))
]
Project = Annotated[
    str, Field(pattern=names.PROJECT.pattern), BeforeValidator(_named(names.PROJECT))
]
Image = Annotated[str, Field(pattern=names.IMAGE.pattern), BeforeValidator(_named(names.IMAGE))]
Service = Annotated[
    str, Field(pattern=names.SERVICE.pattern), BeforeValidator(_named(names.SERVICE))
]
# A key: its pattern is published as the mapping's propertyNames (Settings.environments).
EnvironmentName = Annotated[str, BeforeValidator(_named(names.ENVIRONMENT))]
TargetName = Literal["dev", "test", "prod"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSettings(_Model):
    """A Dockerfile target users build; `prod:` alone means no size budget."""

    size_budget_mb: Count | None = Field(None, description="Largest size the image may reach")


class EnvironmentSettings(_Model):
    """A place the stack runs: its target, compose files and env file."""

    target: Text = Field(description="The Dockerfile target it runs (dev, test or prod)")
    compose_files: FileNames = Field(description="Compose files, merged in order")
    env_file: Text = Field(description="Git-ignored env file, created from <env_file>.example")
    health_timeout: Count = Field(60, description="Seconds a release may take to be healthy")
    replicas: Count = Field(1, description="App containers behind the proxy")
    keep_releases: Count = Field(5, description="Release images kept for rollback")


class BackupSettings(_Model):
    """Where `backup` writes, and how many it keeps per environment."""

    dir: Text = "backups"
    keep: Count = 7


class TestSettings(_Model):
    """What `nox -s tests` (no engine) and `nox -s docker_tests` (engine) run."""

    unit: Paths | None = Field(None, description="Unit test paths (default: tests/ if present)")
    engine: Paths = Field(default_factory=list, description="Tests against the real engine")


class Settings(_Model):
    """slipway.yaml."""

    project: Project = Field(description="Prefix of the compose project names")
    image: Image = Field(description="Repository of every image built from the Dockerfile")
    dockerfile: Text = "docker/Dockerfile"
    context: Text = "."
    service: Service = Field("app", description="The compose service that serves HTTP")
    port: Port = Field(8000, description="The port the service listens on in its container")
    health_path: HealthPath = Field("/health", description="Answers 200 while the service lives")
    package: Text | None = Field(
        None, description="The uv package the images install (default: pyproject's name)"
    )
    migrate: Service | None = Field(
        "migrate",
        description="The one-shot compose service that migrates the data before a release "
        "serves; null for none (default: `migrate` when the compose files define it)",
    )
    targets: dict[TargetName, TargetSettings | None]
    environments: dict[EnvironmentName, EnvironmentSettings] = Field(
        json_schema_extra={"propertyNames": {"pattern": names.ENVIRONMENT.pattern}}
    )
    backups: BackupSettings = BackupSettings()
    tests: TestSettings = TestSettings()


def json_schema() -> dict[str, Any]:
    """slipway.yaml's JSON Schema, for editors (yaml-language-server) and CI."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slipway.yaml"
    return schema


# --- errors: one line, with the file, the line and the dotted key ---------------

# The model whose keys a mapping at a (wildcarded) path may hold.
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Settings,
    ("targets", "*"): TargetSettings,
    ("environments", "*"): EnvironmentSettings,
    ("backups",): BackupSettings,
    ("tests",): TestSettings,
}


def _model_at(path: tuple[str, ...]) -> type[BaseModel] | None:
    for pattern, model in _MODELS.items():
        if len(pattern) == len(path) and all(
            p in ("*", k) for p, k in zip(pattern, path, strict=True)
        ):
            return model
    return None


def _line(node: yaml.Node | None, path: tuple[str, ...]) -> int | None:
    """The line of ``path``'s value (or of the deepest mapping that has it)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            break
        found = [(k, v) for k, v in node.value if str(k.value) == key]
        if not found:
            break
        key_node, node = found[0]
        line = key_node.start_mark.line + 1
    return line


class _Errors:
    """Raises ConfigError for one problem at a key of the file."""

    def __init__(self, path: Path, tree: yaml.Node | None) -> None:
        self.path, self.tree = path, tree

    def fail(self, key: tuple[str, ...], why: str) -> ConfigError:
        line = _line(self.tree, key) if key else None
        where = f"{self.path.name}:{line}" if line else self.path.name
        return ConfigError(f"{where}: {'.'.join(key) or '(top level)'}: {why}")

    def from_pydantic(self, error: ValidationError) -> ConfigError:
        first = error.errors()[0]
        loc = tuple(str(part) for part in first["loc"])
        loc = loc[:-1] if loc[-1:] == ("[key]",) else loc  # a mapping's key is the problem
        kind, value = first["type"], first.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = ", ".join(model.model_fields) if model else ""
            return self.fail(loc, f"unknown key (expected one of {allowed})")
        if kind == "literal_error" and loc[:1] == ("targets",):
            targets = ", ".join(t.value for t in Target)
            return self.fail(loc[:2], f"unknown target (the Dockerfile's targets are {targets})")
        if kind == "missing":
            return self.fail(loc, "missing")
        if kind in ("model_type", "dict_type"):
            return self.fail(loc, f"expected a mapping, got {_kind(value)}")
        return self.fail(loc, first["msg"])


def load(path: Path | None = None) -> Config:
    """Read and validate slipway.yaml (``$SLIPWAY_CONFIG`` or ./slipway.yaml)."""
    path = (path or Path(os.environ.get(CONFIG_ENV) or CONFIG_NAME)).resolve()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"{path.name}: not found in {path.parent}; run from the project root"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot be read ({exc.strerror})") from None
    data, tree = _yaml(text, path)
    config = parse(data, path, tree=tree)
    publish_schema(config.root)
    return config


def _yaml(text: str, path: Path) -> tuple[object, yaml.Node | None]:
    """The file's data, and its composed tree (which gives errors their lines)."""
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path.name}: invalid YAML{where}: {problem}") from None


def check_text(text: str, path: Path) -> None:
    """What slipway.yaml's ``text`` alone tells (its YAML and every key's
    value, not the files it names) is valid; ConfigError otherwise."""
    data, tree = _yaml(text, path)
    _settings(data, _Errors(path, tree))


def check_flag(flag: str, kind: Any, value: object) -> Any:
    """``value`` checked as slipway.yaml's models check a ``kind`` (Port,
    HealthPath...), so that a command's flag follows the file's rules; a
    UsageError naming ``flag`` otherwise."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise UsageError(f"{flag}: {exc.errors()[0]['msg']}") from None


def publish_schema(root: Path) -> None:
    """Keep ``root/.slipway/slipway.schema.json`` the installed slipway's, so
    that editors check slipway.yaml against the version that reads it (a fresh
    clone gets it from its first command). Best effort: a read-only checkout
    only goes without it."""
    published = SCHEMA.read_bytes()
    copy = root / PROJECT_SCHEMA
    if copy.is_symlink():  # never written through: it could point anywhere
        return
    try:
        if not copy.is_file() or copy.read_bytes() != published:
            copy.parent.mkdir(exist_ok=True)
            copy.write_bytes(published)
    except OSError:
        return


def _project_name(root: Path) -> str | None:
    """The root pyproject.toml's ``[project].name``: the default ``package``."""
    try:
        name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


# Safe either way: CSafeLoader is SafeLoader's constructor over libyaml.
_SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


def _compose_services(files: tuple[Path, ...]) -> set[str] | None:
    """The services the compose files define; None when that cannot be told
    without compose (a file that is not plain YAML, or that includes others)."""
    services: set[str] = set()
    for file in files:
        try:
            # libyaml's parser where PyYAML has it: every command reads every
            # environment's compose files, 10x faster than the pure-Python one.
            model = yaml.load(file.read_text(), Loader=_SAFE_LOADER) or {}  # noqa: S506
        except (OSError, yaml.YAMLError):
            return None
        if not isinstance(model, dict) or "include" in model or "extends" in str(model):
            return None
        services |= set(model.get("services") or {})
    return services


def parse(data: object, path: Path, *, tree: yaml.Node | None = None) -> Config:
    """Validate already-loaded YAML; ``path`` names the file in errors and
    ``tree`` (the composed YAML) gives their lines."""
    errors = _Errors(path, tree)
    return _resolve(_settings(data, errors), path, errors)


def _settings(data: object, errors: _Errors) -> Settings:
    if not isinstance(data, dict | None):
        raise errors.fail((), f"expected a mapping, got {_kind(data)}")
    try:
        return Settings.model_validate(data or {})
    except ValidationError as exc:
        raise errors.from_pydantic(exc) from None


def _existing(root: Path, value: str, key: tuple[str, ...], errors: _Errors) -> Path:
    if not (root / value).exists():
        raise errors.fail(key, f"{value} does not exist")
    return root / value


def _resolve(settings: Settings, path: Path, errors: _Errors) -> Config:
    """The frozen Config, after what one key alone cannot say: files exist,
    environments name defined targets, the service is in their compose files."""
    root = path.parent
    targets = {
        Target(name): TargetConfig(Target(name), (spec or TargetSettings()).size_budget_mb)
        for name, spec in settings.targets.items()
    }
    environments = {}
    no_migrate: set[str] = set()  # environments whose compose files define no `migrate`
    for name, spec in settings.environments.items():
        key = ("environments", name)
        if spec.target not in {t.value for t in targets}:
            raise errors.fail((*key, "target"), f"{spec.target!r} is not one of the targets above")
        files = tuple(root / f for f in spec.compose_files)
        for file, shown in zip(files, spec.compose_files, strict=True):
            if not file.is_file():
                raise errors.fail((*key, "compose_files"), f"{shown} does not exist")
        services = _compose_services(files)
        if services is not None and "migrate" in settings.model_fields_set:
            if settings.migrate is not None and settings.migrate not in services:
                raise errors.fail(
                    ("migrate",),
                    f"{settings.migrate!r} is not a service of {name}'s compose files "
                    f"({', '.join(spec.compose_files)} define {', '.join(sorted(services))})",
                )
        elif services is not None and settings.migrate not in services:
            no_migrate.add(name)
        if services is not None and settings.service not in services:
            raise errors.fail(
                ("service",),
                f"{settings.service!r} is not a service of {name}'s compose files "
                f"({', '.join(spec.compose_files)} define {', '.join(sorted(services)) or 'none'})",
            )
        environments[name] = Environment(
            name=name,
            target=Target(spec.target),
            compose_files=files,
            env_file=root / spec.env_file,
            health_timeout=spec.health_timeout,
            replicas=spec.replicas,
            keep_releases=spec.keep_releases,
        )
    default_unit = ["tests"] if (root / "tests").is_dir() else []
    tests = settings.tests
    return Config(
        path=path,
        root=root,
        project=settings.project,
        image=settings.image,
        dockerfile=_existing(root, settings.dockerfile, ("dockerfile",), errors),
        context=_existing(root, settings.context, ("context",), errors),
        service=settings.service,
        port=settings.port,
        health_path=settings.health_path,
        package=settings.package or _project_name(root),
        migrate=None if no_migrate else settings.migrate,
        targets=MappingProxyType(targets),
        environments=MappingProxyType(environments),
        backups=Backups(dir=root / settings.backups.dir, keep=settings.backups.keep),
        tests=Tests(
            unit=tuple(
                _existing(root, p, ("tests", "unit"), errors)
                for p in (default_unit if tests.unit is None else tests.unit)
            ),
            engine=tuple(_existing(root, p, ("tests", "engine"), errors) for p in tests.engine),
        ),
    )
