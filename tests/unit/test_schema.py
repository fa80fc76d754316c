"""slipway.yaml's published JSON Schema says what the models say.

The environment has no JSON Schema library, so the schema is checked in two
ways: every keyword it uses is one of JSON Schema 2020-12's (pydantic writes
the names of its own constraints, such as ``ge``, where it cannot translate
them, and validators ignore unknown keywords), and a small validator of the
keywords it uses (failing on any other) gives the same verdict as the models
on sample documents.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from slipway.config import SCHEMA, Settings, json_schema

REPO = Path(__file__).resolve().parents[2]

# JSON Schema 2020-12: core, applicator, unevaluated, validation, meta-data,
# format and content vocabularies.
KEYWORDS = {
    *("$schema", "$id", "$ref", "$defs", "$anchor", "$dynamicRef", "$dynamicAnchor"),
    *("$vocabulary", "$comment", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"),
    *("dependentSchemas", "prefixItems", "items", "contains", "properties"),
    *("patternProperties", "additionalProperties", "propertyNames"),
    *("unevaluatedItems", "unevaluatedProperties", "type", "enum", "const", "multipleOf"),
    *("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength"),
    *("minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains"),
    *("minContains", "maxProperties", "minProperties", "required", "dependentRequired"),
    *("title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples"),
    *("format", "contentEncoding", "contentMediaType", "contentSchema"),
}
# Keywords whose value is a schema, a list of schemas, or a mapping of name to schema.
_ONE = ("additionalProperties", "items", "propertyNames", "not", "if", "then", "else", "contains")
_MANY = ("anyOf", "allOf", "oneOf", "prefixItems")
_NAMED = ("properties", "$defs", "patternProperties", "dependentSchemas")


def _nested(key: str, value: Any) -> list[Any]:
    """The schemas a keyword's value holds (none in default or enum's data)."""
    if key in _ONE:
        return [value]
    if key in _MANY:
        return list(value)
    if key in _NAMED:
        return list(value.values())
    return []


def _subschemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``schema`` and every schema inside it."""
    yield schema
    for key, value in schema.items():
        for sub in _nested(key, value):
            if isinstance(sub, dict):
                yield from _subschemas(sub)


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_ANNOTATIONS = {"$schema", "$defs", "title", "description", "default"}


def _valid(schema: dict[str, Any] | bool, doc: object, root: dict[str, Any]) -> bool:
    """Whether ``doc`` is valid against ``schema``, for the keywords slipway's
    schema uses; any other keyword fails the test rather than pass silently."""
    if isinstance(schema, bool):
        return schema
    checks = {
        "$ref": lambda ref: _valid(root["$defs"][ref.removeprefix("#/$defs/")], doc, root),
        "type": lambda t: _TYPES[t](doc),
        "anyOf": lambda subs: any(_valid(s, doc, root) for s in subs),
        "enum": lambda values: doc in values,
        "minimum": lambda n: not _TYPES["integer"](doc) or doc >= n,
        "maximum": lambda n: not _TYPES["integer"](doc) or doc <= n,
        "exclusiveMinimum": lambda n: not _TYPES["integer"](doc) or doc > n,
        "minLength": lambda n: not isinstance(doc, str) or len(doc) >= n,
        "minItems": lambda n: not isinstance(doc, list) or len(doc) >= n,
        "pattern": lambda p: not isinstance(doc, str) or re.search(p, doc) is not None,
        "items": lambda s: not isinstance(doc, list) or all(_valid(s, i, root) for i in doc),
        "required": lambda keys: not isinstance(doc, dict) or all(k in doc for k in keys),
        "properties": lambda props: (
            not isinstance(doc, dict)
            or all(_valid(props[k], v, root) for k, v in doc.items() if k in props)
        ),
        "additionalProperties": lambda s: (
            not isinstance(doc, dict)
            or all(
                _valid(s, v, root) for k, v in doc.items() if k not in schema.get("properties", {})
            )
        ),
        "propertyNames": lambda s: (
            not isinstance(doc, dict) or all(_valid(s, k, root) for k in doc)
        ),
    }
    unknown = set(schema) - set(checks) - _ANNOTATIONS
    assert not unknown, f"the test's validator does not know {unknown}"
    return all(checks[key](value) for key, value in schema.items() if key in checks)


def _models_accept(doc: dict[str, Any]) -> bool:
    try:
        Settings.model_validate(doc)
    except ValidationError:
        return False
    return True


def test_every_keyword_of_the_schema_is_a_json_schema_keyword() -> None:
    schema = json.loads(SCHEMA.read_text())
    used = {key for sub in _subschemas(schema) for key in sub}
    assert used <= KEYWORDS, f"not JSON Schema keywords: {used - KEYWORDS}"
    port = schema["properties"]["port"]
    assert (port["minimum"], port["maximum"]) == (1, 65535)


def _repo_settings() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "slipway.yaml").read_text())
    return data


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    """The repository's slipway.yaml with the key at ``path`` set to ``value``."""
    doc = copy.deepcopy(_repo_settings())
    here = doc
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return doc


PROD_ENV = ("environments", "prod")
_PROD = _repo_settings()["environments"]["prod"]
SAMPLES = [
    pytest.param((("port",), 8000), True, id="port-8000"),
    pytest.param((("port",), 65535), True, id="port-65535"),
    pytest.param((("port",), 70000), False, id="port-70000"),
    pytest.param((("port",), 0), False, id="port-0"),
    pytest.param((("port",), "8000"), False, id="port-text"),
    pytest.param(((*PROD_ENV, "replicas"), 0), False, id="replicas-0"),
    pytest.param(((*PROD_ENV, "health_timeout"), -1), False, id="health-timeout-negative"),
    pytest.param((("backups", "keep"), 0), False, id="backups-keep-0"),
    pytest.param((("targets", "prod", "size_budget_mb"), 0), False, id="size-budget-0"),
    pytest.param((("health_path",), "/ready?deep=1"), True, id="health-path-query"),
    pytest.param((("health_path",), "/a b"), False, id="health-path-space"),
    pytest.param((("health_path",), '/a"b'), False, id="health-path-quote"),
    pytest.param((("health_path",), "/a#b"), False, id="health-path-hash"),
    pytest.param((("health_path",), "health"), False, id="health-path-relative"),
    pytest.param((("project",), "My App"), False, id="project-spaces"),
    pytest.param((("image",), "registry.example.com:5000/a/b"), True, id="image-registry"),
    pytest.param((("image",), "slipway/Notes"), False, id="image-uppercase"),
    pytest.param((("service",), "app web"), False, id="service-space"),
    pytest.param((("environments", "prod-eu_1"), _PROD), True, id="environment-name"),
    pytest.param((("environments", "../../x"), _PROD), False, id="environment-path"),
    pytest.param((("environments", "Prod"), _PROD), False, id="environment-uppercase"),
    pytest.param((("colour",), "blue"), False, id="unknown-key"),
    pytest.param(((*PROD_ENV, "compose_files"), []), False, id="no-compose-files"),
    pytest.param((("targets", "staging"), None), False, id="unknown-target"),
]


@pytest.mark.parametrize(("change", "valid"), SAMPLES)
def test_the_schema_and_the_models_agree_on_sample_documents(
    change: tuple[tuple[str, ...], object], valid: bool
) -> None:
    doc = _with(*change)
    schema = json_schema()

    assert _valid(schema, doc, schema) is valid
    assert _models_accept(doc) is valid


def test_the_repositorys_own_slipway_yaml_is_valid() -> None:
    schema = json_schema()
    assert _valid(schema, _repo_settings(), schema)
