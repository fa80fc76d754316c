"""The kinds of value slipway.yaml's keys hold (a port, a count, a service
name...), each a pydantic type whose error is one phrase: ``expected a
positive integer, got 'soon'``. Every section's model is made of them, and a
command's flag is checked by the same rule (:func:`check_flag`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from slipway.config import names
from slipway.errors import UsageError


def described(value: object) -> str:
    """A value as an error shows what it got: ``'soon'``, ``a list``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    return repr(value)


def _invalid(why: str, value: object) -> PydanticCustomError:
    return PydanticCustomError("slipway", "{why}, got {got}", {"why": why, "got": described(value)})


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


def _address(value: object) -> object:
    try:
        ipaddress.ip_address(_text(value))  # type: ignore[arg-type]
    except ValueError:
        raise _invalid("expected an IP address (127.0.0.1, 0.0.0.0, ::1...)", value) from None
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
# An address of the engine's host the proxy publishes on.
Address = Annotated[str, Field(min_length=1), BeforeValidator(_address)]
Engine = Annotated[str, Field(pattern=names.ENGINE.pattern), BeforeValidator(_named(names.ENGINE))]
Registry = Annotated[
    str, Field(pattern=names.REGISTRY.pattern), BeforeValidator(_named(names.REGISTRY))
]
# A name a certificate covers (slipway.yaml's https.hosts).
HostName = Annotated[
    str, Field(pattern=names.HOST_NAME.pattern), BeforeValidator(_named(names.HOST_NAME))
]
# A key: its pattern is published as the mapping's propertyNames (Settings.environments).
EnvironmentName = Annotated[str, BeforeValidator(_named(names.ENVIRONMENT))]
RoleName = Annotated[str, BeforeValidator(_named(names.SERVICE))]
TargetName = Literal["dev", "test", "prod"]


class Section(BaseModel):
    """A mapping of slipway.yaml: no key it does not define, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_flag(flag: str, kind: Any, value: object) -> Any:
    """``value`` checked as slipway.yaml's models check a ``kind`` (Port,
    HealthPath...), so that a command's flag follows the file's rules; a
    UsageError naming ``flag`` otherwise."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise UsageError(f"{flag}: {exc.errors()[0]['msg']}") from None
