"""The plasticgym command line."""

import json

import pytest

from plasticgym.cli import main


def test_quickstart_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "qs"
    code = main(["quickstart", "--out", str(out), "--n-agents", "20", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for name in ("rpe_transfer.png", "records.parquet", "result.json", "config.json",
                 "agent.safetensors"):  # fmt: skip
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").rglob("events.out.tfevents.*"))
    result = json.loads((out / "result.json").read_text())
    assert all(result["verdicts"].values())
    assert "at cue" in printed and "[PASS] at_cue_late" in printed


def test_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "quickstart" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["quickstart", "--n-agents", "many"])
    assert exit_info.value.code == 2


def test_user_errors_are_one_line(capsys):
    assert main(["quickstart", "--n-agents", "0", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plasticgym: error:") and "n_agents=0" in err
