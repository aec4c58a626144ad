#!/usr/bin/env python3
"""Validates a JSON body against the 200 response of one GET operation of Mist's OpenAPI
specification (API 2509.1.1, OpenAPI 3.1, so JSON Schema 2020-12).

    validate.py SPEC.json PATH FILE.json

PATH is the operation's path as the specification spells it, e.g.
`/api/v1/sites/{site_id}/stats/clients`. Exits 0 when the body validates, 1 with every error
otherwise, 2 on bad arguments.

One defect of the specification is worked around: the derived site setting is an `allOf` of
`site_setting` and `site_setting_derived_accounts`, whose `additionalProperties` requires every
property to be an object, so that no site setting with a scalar field validates, Mist's own
example of that answer included. That part is left out.
"""

import json
import sys

import jsonschema


def resolve(spec, node):
    """Follows a local `$ref` (`#/components/...`) to what it names."""
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    spec_path, path, body_path = argv[1:]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    with open(body_path, encoding="utf-8") as f:
        body = json.load(f)
    operation = spec["paths"].get(path, {}).get("get")
    if operation is None:
        print(f"no GET {path} in the specification", file=sys.stderr)
        return 2
    response = resolve(spec, operation["responses"]["200"])
    schema = resolve(spec, response["content"]["application/json"]["schema"])
    if "allOf" in schema:
        defect = {"$ref": "#/components/schemas/site_setting_derived_accounts"}
        schema = dict(schema, allOf=[s for s in schema["allOf"] if s != defect])
    root = dict(schema)
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["components"] = spec["components"]
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    for error in errors[:20]:
        where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
        if error.context:
            # A oneOf or anyOf: why each alternative refused it.
            print(f"{where}: matches none of the alternatives (or more than one):")
            for sub in sorted(error.context, key=lambda e: list(e.schema_path))[:12]:
                branch = "/".join(str(p) for p in sub.relative_schema_path)
                inner = "/".join(str(p) for p in sub.absolute_path)
                print(f"  [{branch}] {inner}: {sub.message[:200]}")
        else:
            print(f"{where}: {error.message[:300]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
