"""Prints the keys that `keel schema` allows in each mapping of a graph file,
one line per mapping: PLACE|REQUIRED KEYS|ALL KEYS (comma-separated), where
PLACE is top, input, node, train, train.data, train.data.holdout,
train.optimizer, train.optimizer.schedule, train.checkpoint,
train.checkpoint.encrypt or train.distributed. Usage: schema_keys.py SCHEMA.json
With --initializers TEXT..., prints instead TEXT|yes or TEXT|no for each
TEXT: whether the schema's initializer pattern accepts it.
(A JSON Schema pattern is an ECMA-262 regex; these ones read the same in
Python's re.)"""
import json
import re
import sys

schema = json.load(open(sys.argv[1]))
defs = schema["$defs"]
if len(sys.argv) > 2 and sys.argv[2] == "--initializers":
    pattern = defs["initializer"]["pattern"]
    for text in sys.argv[3:]:
        print(f"{text}|{'yes' if re.search(pattern, text) else 'no'}")
    sys.exit(0)
train = defs["train"]
data = train["properties"]["data"]
holdout = [s for s in data["properties"]["holdout"]["anyOf"] if s.get("type") == "object"][0]
optimizer = train["properties"]["optimizer"]
checkpoint = train["properties"]["checkpoint"]
places = {
    "top": schema,
    "input": defs["input"],
    "node": defs["node"],
    "train": train,
    "train.data": data,
    "train.data.holdout": holdout,
    "train.optimizer": optimizer,
    "train.optimizer.schedule": optimizer["properties"]["schedule"],
    "train.checkpoint": checkpoint,
    "train.checkpoint.encrypt": checkpoint["properties"]["encrypt"],
    "train.distributed": train["properties"]["distributed"],
}
for place, s in places.items():
    closed = s.get("additionalProperties") is False
    print(f"{place}|{','.join(s.get('required', []))}|{','.join(s['properties'])}|{'closed' if closed else 'open'}")
