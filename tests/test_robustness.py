import json
import re
from pathlib import Path

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
    assert run_folder_name("steps={'a/b': 2}", {"steps": {"a/b": 2}}) == "steps-{'a_b':_2}"


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


def test_bracketed_value_is_a_tuple_field():
    from plasticgym.experiments.robustness import variants

    runs = variants([1], ["frequency_delays_ms=[-7.0,7.0],[-13.0,13.0]"])
    assert runs[1:] == [
        ("frequency_delays_ms=[-7.0,7.0]", {"seed": 1, "frequency_delays_ms": (-7.0, 7.0)}),
        ("frequency_delays_ms=[-13.0,13.0]", {"seed": 1, "frequency_delays_ms": (-13.0, 13.0)}),
    ]
    assert all(isinstance(o["frequency_delays_ms"], tuple) for _, o in runs[1:])


def test_full_runs_the_full_config_in_its_own_folder(tmp_path, monkeypatch):
    import plasticgym.experiments.robustness as robustness_module

    calls = []

    def fake_run(name, quick, out, progress_bar, **overrides):
        calls.append((quick, Path(out), overrides))
        Path(out).mkdir(parents=True, exist_ok=True)
        return {"verdicts": {"a": True}, "lines": {"a": "(finding) x"}}, None

    monkeypatch.setattr(robustness_module, "run_experiment", fake_run)
    table = robustness_module.robustness("two_step", [0], ["steps=700"], tmp_path, full=True)
    assert [(quick, out.relative_to(tmp_path)) for quick, out, _ in calls] == [
        (False, Path("two_step-full/seed_0")),
        (False, Path("two_step-full/steps-700")),
    ]
    assert calls[1][2] == {"seed": 0, "steps": 700}
    assert table.loc["a"].tolist() == ["finding", "PASS", "PASS"]
    robustness_module.robustness("two_step", [0], [], tmp_path / "q")
    assert calls[-1][0] is True and calls[-1][1] == tmp_path / "q" / "two_step" / "seed_0"


def test_value_in_braces_stays_whole():
    from plasticgym.experiments.robustness import variants

    runs = variants([0], ["steps={'a': 224, 'b': 224},{'a': 416, 'b': 416}"])
    assert [overrides["steps"] for _, overrides in runs[1:]] == [
        {"a": 224, "b": 224},
        {"a": 416, "b": 416},
    ]
