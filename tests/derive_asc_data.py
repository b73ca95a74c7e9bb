"""Regenerate tests/data/asc-openapi/ from Apple's OpenAPI subset and example responses.

    python tests/derive_asc_data.py [SOURCE_FOLDER]

SOURCE_FOLDER holds ``xcode-cloud-subset.json`` and ``examples/`` (by default
``../shared/asc-openapi`` beside the repository). The tests read only what this writes: the
subset's paths, parameters and schemas with every description, summary and tag left out, and
Apple's example documents as they are, so the contract tests run in any clone.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "asc-openapi"
TARGET = ROOT / "tests" / "data" / "asc-openapi"
SUBSET = "xcode-cloud-subset.json"
PROSE = {"description", "summary", "tags", "operationId", "externalDocs", "title", "example"}


def without_prose(node: Any, names: bool = False) -> Any:
    """``node`` without prose; ``names`` when its keys are property names, all kept."""
    if isinstance(node, dict):
        return {
            key: without_prose(value, names=key == "properties" and not names)
            for key, value in node.items()
            if names or (key not in PROSE and not key.startswith("x-"))
        }
    if isinstance(node, list):
        return [without_prose(value) for value in node]
    return node


def derive(source: Path, target: Path = TARGET) -> None:
    spec = json.loads((source / SUBSET).read_text())
    derived = {
        "openapi": spec["openapi"],
        "info": {"version": spec["info"]["version"]},
        "paths": without_prose(spec["paths"]),
        "components": {"schemas": without_prose(spec["components"]["schemas"])},
    }
    target.mkdir(parents=True, exist_ok=True)
    (target / SUBSET).write_text(json.dumps(derived, indent=1, sort_keys=True) + "\n")
    examples = target / "examples"
    shutil.rmtree(examples, ignore_errors=True)
    examples.mkdir()
    for example in sorted((source / "examples").glob("*.json")):
        shutil.copyfile(example, examples / example.name)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    if not (source / SUBSET).exists():
        sys.exit(f"{source / SUBSET} not found: pass the folder holding Apple's OpenAPI subset")
    derive(source)
    print(f"wrote {TARGET.relative_to(ROOT)}")
