"""CheckKey keeps its hash: equal keys find each other in dicts and sets, also when one of
them was copied or pickled (string hashes differ between processes, so a copy computes its
own instead of carrying the old one)."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

from augenmass.core.values import CheckKey


def test_equal_keys_are_one_key() -> None:
    seen = {CheckKey("www1", "https"): 1, CheckKey("www1"): 2}
    assert seen[CheckKey("www1", "https")] == 1
    assert seen[CheckKey.parse("www1")] == 2
    assert CheckKey("www1", "https") != CheckKey("www1", "http")
    assert sorted([CheckKey("b"), CheckKey("a", "x"), CheckKey("a")], key=str)[0] == CheckKey("a")
    assert copy.deepcopy(CheckKey("www1", "https")) in seen


def test_a_key_pickled_in_another_process_is_found() -> None:
    code = (
        "import pickle, sys; from augenmass.core.values import CheckKey; "
        "sys.stdout.buffer.write(pickle.dumps(CheckKey('mail', 'smtp')))"
    )
    raw = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=60
    ).stdout
    key = pickle.loads(raw)
    assert {CheckKey("mail", "smtp"): "here"}[key] == "here"
    assert repr(key) == "CheckKey(host='mail', service='smtp')"
