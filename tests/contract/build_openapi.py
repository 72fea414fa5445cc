#!/usr/bin/env python3
"""docs/openapi.yaml (the readable source) -> docs/openapi.json (what the web component
serves at /api/openapi.json). `--check` exits 1 when the committed JSON is stale instead
of writing it; tests/contract/test_document.py runs that check.

    target/venv-contract/bin/python tests/contract/build_openapi.py [--check]
"""

import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "docs" / "openapi.yaml"
TARGET = ROOT / "docs" / "openapi.json"


def render() -> str:
    """The JSON text of the YAML source: key order kept, UTF-8, a final newline."""
    document = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run {pathlib.Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
