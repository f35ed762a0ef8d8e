"""runtime.fastjson: the start path's JSON through `_json`, checked
against the json package it stands in for."""
import json
import math

import pytest

from runtime import fastjson

DOCUMENTS = [
    {"id": "ab" * 32, "status": "running", "pid": 12, "exit_code": None, "started": 1.5e9,
     "auto_remove": True, "detached": False, "command": ["sh", "-c", "echo \"hi\"\n\t\\"]},
    {"text": "caf\u00e9 \u2603 \U0001f600", "nested": {"list": [[], {}, [1, [2, [3]]]]}},
    [], {}, "plain", 0, -7, 3.25, 1e300, True, None,
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_dumps_matches_json_and_loads_round_trips(document):
    text = fastjson.dumps(document)
    assert text == json.dumps(document)
    assert fastjson.loads(text) == document
    assert fastjson.loads(text.encode()) == document


def test_loads_accepts_what_json_writes_for_edge_values():
    assert fastjson.loads(" \n{\"a\": [1, 2]}\n ") == {"a": [1, 2]}
    assert math.isinf(fastjson.loads(json.dumps(float("inf"))))
    assert math.isnan(fastjson.loads("NaN"))


@pytest.mark.parametrize("text", ["", "   ", "{", "[1,]", "{\"a\": 1} extra", "nul", "{'a': 1}"])
def test_malformed_documents_raise_value_error(text):
    with pytest.raises(ValueError):
        fastjson.loads(text)


def test_unserializable_values_raise_type_error():
    with pytest.raises(TypeError, match="not JSON serializable"):
        fastjson.dumps({"when": object()})


def test_load_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(DOCUMENTS[0]))
    assert fastjson.load_file(str(path)) == DOCUMENTS[0]
    with pytest.raises(FileNotFoundError):
        fastjson.load_file(str(tmp_path / "missing.json"))
