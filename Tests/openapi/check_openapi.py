#!/usr/bin/env python3
"""Validates docs/openapi.yaml against the OpenAPI specification (openapi-spec-validator).

Usage: python3 Tests/openapi/check_openapi.py [path/to/openapi.yaml]

Besides the validator's own checks it insists on what Bedside's document promises: every
operation has an operationId and documents 421 (the Host check that runs on every route), and
every JSON error response of the server's own routes uses the Error schema's
{"error", "code"} shape. Exits 1 on the first kind of problem found, printing each.
"""

import pathlib
import sys

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def main() -> int:
    root = pathlib.Path(__file__).resolve().parents[2]
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "docs" / "openapi.yaml"
    spec, _ = read_from_filename(str(path))
    try:
        validate(spec)
    except Exception as error:  # the validator's own exception types vary between versions
        print(f"openapi: {path} is not a valid OpenAPI document: {error}")
        return 1

    problems = []
    operations = 0
    ids = set()
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            operations += 1
            name = f"{method.upper()} {route}"
            operation_id = operation.get("operationId")
            if not operation_id:
                problems.append(f"{name} has no operationId")
            elif operation_id in ids:
                problems.append(f"{name} repeats the operationId {operation_id}")
            ids.add(operation_id)
            responses = operation.get("responses", {})
            if "421" not in responses:
                problems.append(f"{name} does not document 421 (host_not_allowed)")
            if "default" in responses:
                problems.append(f"{name} has a default response: every status must be listed")
    # Duplicate keys are silently merged by most YAML readers: catch them here.
    class Strict(yaml.SafeLoader):
        pass

    def no_duplicates(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                problems.append(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return loader.construct_mapping(node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, no_duplicates)
    yaml.load(path.read_text(encoding="utf-8"), Loader=Strict)

    for problem in problems:
        print(f"openapi: {problem}")
    if problems:
        return 1
    print(f"openapi: {path.name} is valid OpenAPI {spec['openapi']}: {len(spec['paths'])} paths, {operations} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
