import json
import re

import pytest

from plasticgym.experiments.robustness import check_cached_config, run_folder_name, verdict_kinds


def test_verdict_kinds_reads_either_key():
    assert verdict_kinds({"verdict_kinds": {"a": "finding"}}) == {"a": "finding"}
    assert verdict_kinds({"kinds": {"b": "mechanism check"}}) == {"b": "mechanism check"}
    assert verdict_kinds({"verdicts": {"a": True}}) == {}


def test_run_folder_name_keeps_changes_at_other_seeds_apart():
    assert run_folder_name("seed 1", {"seed": 1}) == "seed_1"
    assert run_folder_name("steps=280", {"seed": 0, "steps": 280}) == "steps-280"
    assert run_folder_name("steps=280", {"seed": 2, "steps": 280}) == "steps-280_seed-2"


def test_cached_folder_of_another_run_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"seed": 0, "iti": [10, 20], "n": 5}))
    check_cached_config(tmp_path, {"seed": 0, "iti": (10, 20)})
    with pytest.raises(ValueError, match=re.escape("holds a run with {'seed': 0}")):
        check_cached_config(tmp_path, {"seed": 2, "iti": (10, 20)})
    with pytest.raises(ValueError, match="pass --rerun"):
        check_cached_config(tmp_path, {"missing": 1})


def test_verdict_kinds_from_line_prefixes():
    lines = {"a": "(finding) x +1", "b": "(mechanism check) y", "c": "no label"}
    assert verdict_kinds({"lines": lines}) == {"a": "finding", "b": "mechanism check"}
