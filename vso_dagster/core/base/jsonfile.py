"""JSON files VSO keeps in git (state.json, plan.json): one line per top-level key, and one line per
entry of the big collections, so a change to one slice is a one-line diff.

`json.dumps(indent=...)` runs Python's pure-Python encoder, about 5× slower than the C encoder used
for each line here; on 1,000 slices that was most of an incremental decomposition's bookkeeping.
"""

from __future__ import annotations

import json


def dumps_by_line(data: dict, expand: tuple[str, ...] = ()) -> str:
    lines = []
    for key in sorted(data):
        value = data[key]
        if key in expand and isinstance(value, dict) and value:
            inner = ",\n".join(f"  {json.dumps(k)}: {_compact(v)}" for k, v in sorted(value.items()))
            text = "{\n" + inner + "\n }"
        elif key in expand and isinstance(value, list) and value:
            text = "[\n" + ",\n".join(f"  {_compact(v)}" for v in value) + "\n ]"
        else:
            text = _compact(value)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
