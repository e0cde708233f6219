"""Writes a JSON file with one change, for tests of gm's readers.

    edit_json.py IN OUT STATEMENT

loads IN (keys kept in order) as `m`, runs the Python STATEMENT on it, such
as "m['entries'][0]['batch'] = '16'", and writes `m` to OUT as compact JSON.
"""
import collections
import json
import sys

src, dst, statement = sys.argv[1:4]
m = json.load(open(src), object_pairs_hook=collections.OrderedDict)
exec(statement)
with open(dst, "w") as f:
    json.dump(m, f, separators=(",", ":"))
