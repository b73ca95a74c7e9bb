"""Apple's OpenAPI subset and example documents, from tests/data (see its SOURCE.md)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator

DATA = Path(__file__).resolve().parent / "data" / "asc-openapi"
SPEC_PATH = DATA / "xcode-cloud-subset.json"
EXAMPLES = DATA / "examples"

# Apple's own examples send null for these on unfinished runs and actions, although the
# spec does not mark them nullable; the validator is widened for exactly these fields.
NULLABLE = {
    "CiBuildRun": [
        "startedDate",
        "finishedDate",
        "issueCounts",
        "completionStatus",
        "cancelReason",
    ],
    "CiBuildAction": ["startedDate", "finishedDate", "issueCounts", "completionStatus"],
}


@cache
def spec() -> dict:
    document = json.loads(SPEC_PATH.read_text())
    patched = copy.deepcopy(document)
    schemas = patched["components"]["schemas"]
    for name, attributes in NULLABLE.items():
        properties = schemas[name]["properties"]["attributes"]["properties"]
        for attribute in attributes:
            properties[attribute] = {"anyOf": [properties[attribute], {"type": "null"}]}
    return patched


def validate(document: dict, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=str)
    assert not errors, f"{schema_name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())
