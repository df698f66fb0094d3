"""Validates YAML graph files against a JSON Schema with Python's jsonschema
(an implementation independent of Keel). Usage:
  validate_graphs.py SCHEMA.json GRAPH.yaml...
Prints one line per problem; exits 1 if any file is invalid, 2 if the schema
itself is not a valid draft 2020-12 schema."""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
try:
    jsonschema.Draft202012Validator.check_schema(schema)
except jsonschema.SchemaError as e:
    print(f"invalid schema: {e.message}")
    sys.exit(2)
validator = jsonschema.Draft202012Validator(schema)
invalid = 0
for path in sys.argv[2:]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    errors = list(validator.iter_errors(doc))
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path)
        print(f"{path}: /{where}: {e.message}")
        # if/then failures hide the cause one level down
        for sub in e.context or []:
            print(f"{path}:   {sub.message}")
    invalid += bool(errors)
    if not errors:
        print(f"{path}: valid")
sys.exit(1 if invalid else 0)
