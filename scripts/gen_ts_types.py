"""Write the TypeScript client's types (clients/typescript/src/types.ts) from the server's
OpenAPI spec, or with --check, fail when the committed file differs from what the spec
gives (tests/test_typescript_client.py runs the check).

    python scripts/gen_ts_types.py [--check]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "clients" / "typescript" / "src" / "types.ts"
HEADER = "// Generated from the EngramOS server's OpenAPI spec by scripts/gen_ts_types.py: do not edit.\n"


def spec() -> dict[str, Any]:
    from engramos import Config
    from engramos.server.app import create_app

    with tempfile.TemporaryDirectory() as home:
        return create_app(Config(home=Path(home))).openapi()


def ts_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return " | ".join(_literal(v) for v in schema["enum"])
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = list(dict.fromkeys(ts_type(s) for s in schema[union]))
            return " | ".join(parts)
    if "allOf" in schema:
        return " & ".join(ts_type(s) for s in schema["allOf"])
    kind = schema.get("type")
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        item = ts_type(schema.get("items", {}))
        return f"({item})[]" if " " in item else f"{item}[]"
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        if "properties" in schema:
            return _object(schema, indent="  ")
        extra = schema.get("additionalProperties")
        value = ts_type(extra) if isinstance(extra, dict) and extra else "unknown"
        return f"Record<string, {value}>"
    return "unknown"


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _object(schema: dict[str, Any], indent: str = "") -> str:
    required = set(schema.get("required", []))
    lines = ["{"]
    for name, prop in schema.get("properties", {}).items():
        key = name if name.isidentifier() else f'"{name}"'
        doc = prop.get("description")
        if doc:
            lines.append(f"{indent}  /** {' '.join(doc.split())} */")
        lines.append(f"{indent}  {key}{'' if name in required else '?'}: {ts_type(prop)};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def render(openapi: dict[str, Any]) -> str:
    out = [HEADER]
    for name, schema in sorted(openapi["components"]["schemas"].items()):
        doc = schema.get("description")
        if doc:
            out.append(f"/** {' '.join(doc.split())} */")
        if schema.get("type") == "object" or "properties" in schema:
            out.append(f"export interface {name} {_object(schema)}\n")
        else:
            out.append(f"export type {name} = {ts_type(schema)};\n")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed types differ")
    args = parser.parse_args()
    text = render(spec())
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            sys.stderr.write(f"{TARGET} is out of date with the OpenAPI spec: run python scripts/gen_ts_types.py\n")
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
