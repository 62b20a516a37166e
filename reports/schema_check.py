"""Check a results file against the JSON Schema that ships with the package.

``reports/results.schema.json`` is a JSON Schema (draft 2020-12) that any
validator can use. So that checking needs no extra dependency, this module
implements the part of the standard the schema uses — ``type``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``const``, ``minimum``, ``pattern`` and local ``$ref`` — and refuses a schema
that uses anything else, so it can never pass a file by ignoring a rule.

    from reports.schema_check import results_errors
    problems = results_errors(json.load(open("results.json")))   # [] when valid
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from typing import Any

SCHEMA_RESOURCE = "results.schema.json"
ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}
ASSERTIONS = {"type", "properties", "required", "additionalProperties", "items", "enum",
              "const", "minimum", "pattern", "$ref"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    # JSON has one number type; bool is not a number even though Python says so
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


class SchemaError(ValueError):
    """The schema itself uses a keyword this checker does not implement."""


@functools.lru_cache(maxsize=1)
def results_schema() -> dict[str, Any]:
    """The results JSON Schema shipped as package data."""
    text = importlib.resources.files("reports").joinpath(SCHEMA_RESOURCE).read_text()
    return json.loads(text)


def results_errors(document: Any) -> list[str]:
    """Every way ``document`` breaks the results schema, as 'where: what' lines."""
    schema = results_schema()
    errors: list[str] = []
    _check(document, schema, schema, "$", errors)
    return errors


def _check(value: Any, rule: dict[str, Any], root: dict[str, Any], where: str,
           errors: list[str]) -> None:
    unknown = set(rule) - ANNOTATIONS - ASSERTIONS
    if unknown:
        raise SchemaError(f"schema at {where}: unsupported keyword {sorted(unknown)[0]!r}")
    if "$ref" in rule:
        _check(value, _resolve(rule["$ref"], root), root, where, errors)
    if "type" in rule:
        names = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
        if not any(TYPES[name](value) for name in names):
            errors.append(f"{where}: expected {' or '.join(names)}, found {type(value).__name__}")
            return
    _check_value(value, rule, where, errors)
    if isinstance(value, dict):
        _check_object(value, rule, root, where, errors)
    if isinstance(value, list) and "items" in rule:
        for index, item in enumerate(value):
            _check(item, rule["items"], root, f"{where}[{index}]", errors)


def _check_value(value: Any, rule: dict[str, Any], where: str, errors: list[str]) -> None:
    if "const" in rule and value != rule["const"]:
        errors.append(f"{where}: expected {rule['const']!r}, found {value!r}")
    if "enum" in rule and value not in rule["enum"]:
        errors.append(f"{where}: expected one of {rule['enum']}, found {value!r}")
    if "minimum" in rule and TYPES["number"](value) and value < rule["minimum"]:
        errors.append(f"{where}: expected at least {rule['minimum']}, found {value!r}")
    if "pattern" in rule and isinstance(value, str) and not re.search(rule["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {rule['pattern']}")


def _check_object(value: dict[str, Any], rule: dict[str, Any], root: dict[str, Any],
                  where: str, errors: list[str]) -> None:
    for key in rule.get("required", []):
        if key not in value:
            errors.append(f"{where}: missing key {key!r}")
    properties = rule.get("properties", {})
    extra = rule.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], root, f"{where}.{key}", errors)
        elif extra is False:
            errors.append(f"{where}: unexpected key {key!r}")
        elif isinstance(extra, dict):
            _check(item, extra, root, f"{where}.{key}", errors)


def _resolve(reference: str, root: dict[str, Any]) -> dict[str, Any]:
    if not reference.startswith("#/"):
        raise SchemaError(f"schema: only local references are supported, not {reference!r}")
    node: Any = root
    for part in reference[2:].split("/"):
        node = node[part]
    return node


__all__ = ["SchemaError", "results_errors", "results_schema"]
