"""The plasticgym command line."""

import json
import sys

import pandas as pd
import pytest

from plasticgym.cli import main


def test_quickstart_tours_the_experiments_and_says_where_the_reports_are(
    tmp_path, capsys, monkeypatch
):
    """The tour's wiring, on one short experiment (each experiment's quick version has its
    own tests in test_experiments.py)."""
    import plasticgym.cli

    assert plasticgym.cli.TOUR == ("rpe_transfer", "habit_devaluation", "addiction", "compare")
    monkeypatch.setattr(plasticgym.cli, "TOUR", ("compare",))
    out = tmp_path / "qs"
    code = main(["quickstart", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for name in ("report.md", "result.json", "config.json", "compare_learning_curves.png"):
        assert (out / "compare" / name).is_file(), name
    result = json.loads((out / "compare" / "result.json").read_text())
    for verdict, ok in result["verdicts"].items():
        assert f"- [{'PASS' if ok else 'FAIL'}] {verdict}: " in printed
    assert f"compare            {out / 'compare' / 'report.md'}" in printed


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
    assert err.startswith("plasticgym: error:") and "seeds=0" in err and err.count("\n") == 1


def test_envs_and_agents_list_names_with_descriptions(capsys):
    from plasticgym.agents import AGENTS
    from plasticgym.docs import task_ids

    assert main(["envs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == task_ids()
    assert all(len(line.split()) > 3 for line in lines)
    assert "Two-armed probabilistic reversal learning" in "\n".join(lines)
    assert main(["agents"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(AGENTS)
    assert {"plastic", "q_learning", "ppo", "dqn"} <= set(AGENTS)


def test_every_verb_has_help(capsys):
    for verb in ("quickstart", "envs", "agents", "train", "sweep"):
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0
        assert "usage: plasticgym " + verb in capsys.readouterr().out


def test_train_writes_records_checkpoint_and_result(tmp_path, capsys):
    out = tmp_path / "train"
    code = main(["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "plastic",
                 "--steps", "200", "--n-agents", "3", "--seed", "1", "--out", str(out),
                 "--set", "actor_lr=0.3", "--set", "homeostasis=false",
                 "--env-kwargs", '{"p_high": 0.9, "reversal_every": 50}'])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "reward per step, last 20%" in printed and "95% CI" in printed
    for name in ("records.parquet", "agent.safetensors", "result.json"):
        assert (out / name).is_file(), name
    result = json.loads((out / "result.json").read_text())
    # the task's preset by default, under the --set values
    preset = {"gamma": 0.0, "actor_lr": 0.3, "actor_weight_max": 0.5, "homeostasis": False}
    assert result["spec"]["hyperparameters"] == preset
    assert result["spec"]["env_kwargs"] == {"p_high": 0.9, "reversal_every": 50}
    assert result["metrics"]["n_agents"] == 3 and result["metrics"]["steps"] == 200
    assert len(pd.read_parquet(out / "records.parquet")) == 3 * 200
    # the chance level: a random policy on the same seeds, same definitions as the agent's
    chance = pd.read_parquet(out / "chance_records.parquet")
    assert len(chance) == 3 * 200 and "random policy, last 20%" in printed
    last = chance[chance["step"] >= 160].groupby("agent")["reward"].mean().mean()
    assert result["metrics"]["chance_reward_last20"] == pytest.approx(last)
    assert (out / "reward.png").stat().st_size > 0
    assert not (out / "tensorboard").exists()  # only with --tensorboard


def test_train_tensorboard_logs_under_the_output_folder(tmp_path, capsys):
    out = tmp_path / "tb"
    code = main(["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "q_learning",
                 "--steps", "30", "--n-agents", "2", "--out", str(out), "--tensorboard",
                 "--no-progress"])  # fmt: skip
    assert code == 0
    assert list((out / "tensorboard").glob("*/events.out.tfevents.*"))
    assert "tensorboard --logdir" in capsys.readouterr().out


def test_train_with_the_task_preset(tmp_path, capsys):
    out = tmp_path / "preset"
    code = main(["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "plastic",
                 "--preset", "--set", "actor_lr=0.3", "--steps", "20",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    spec = json.loads((out / "result.json").read_text())["spec"]
    assert spec["hyperparameters"] == {"gamma": 0.0, "actor_lr": 0.3, "actor_weight_max": 0.5}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "plasticgym/Nope-v0"], "unknown env id 'plasticgym/Nope-v0'"),
        (["--agent", "nope"], "unknown agent 'nope'; known agents: plastic, q_learning"),
        (["--set", "learning_rate=-1"], "learning_rate=-1 is invalid"),
        (["--set", "lr=0.1"], "unknown hyperparameter(s) ['lr'] for QLearningAgent"),
        (["--set", "learning_rate"], "--set 'learning_rate' is invalid: write NAME=VALUE"),
        (["--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
        (["--env-kwargs", "{bad"], "--env-kwargs '{bad' is not valid JSON"),
        (["--env-kwargs", '{"bogus": 1}'], "bogus"),
        (["--steps", "0"], "steps=0 is invalid"),
        (["--preset"], "--preset is for --agent plastic"),
    ],
)
def test_train_user_errors_are_one_line_with_exit_code_2(argv, message, tmp_path, capsys):
    base = ["--env", "plasticgym/ReversalBandit-v0", "--agent", "q_learning", "--steps", "10",
            "--out", str(tmp_path / "out")]  # fmt: skip
    args = [*base, *argv]  # a repeated option: the last one counts
    assert main(["train", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("plasticgym: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert not (tmp_path / "out").exists()


def test_sweep_runs_a_config_and_reports_user_errors(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    head = 'env = "plasticgym/ReversalBandit-v0"\nagent = ["q_learning", "sarsa_lambda"]\n'
    config.write_text(head + "seeds = 2\n[params]\nsteps = 100\nn_agents = 2\n")
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "4 trials" in printed and "done 4 now, 0 before; failed 0" in printed
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 4 and (results["status"] == "done").all()
    assert main(["sweep", str(config), "--out", str(out), "--no-progress"]) == 0
    assert "done 0 now, 4 before" in capsys.readouterr().out

    for text, message in [
        (None, "sweep config not found"),
        (head + "seeds = 0\n[params]\nsteps = 1\n", "bad.toml: seeds=0 is invalid"),
        ('env = "e"\nagent = "nope"\n[params]\nsteps = 1\n', "unknown agent 'nope'"),
    ]:
        path = tmp_path / "missing.toml"
        if text is not None:
            path = tmp_path / "bad.toml"
            path.write_text(text)
        assert main(["sweep", str(path), "--out", str(tmp_path / "bad")]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("plasticgym: error: ") and err.count("\n") == 1
        assert message in err


def test_a_missing_extra_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # as if it were not installed
    argv = ["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "ppo", "--steps", "5",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'plasticgym[sb3]'" in err


def test_version(capsys):
    from plasticgym import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"plasticgym {__version__}"


def test_train_help_shows_one_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    printed = capsys.readouterr().out
    assert "95% CI" in printed and "%%" not in printed
    assert "--no-progress" in printed and "--no-preset" in printed


def test_train_shows_a_progress_bar_unless_no_progress(tmp_path, capsys):
    argv = ["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "q_learning",
            "--steps", "30", "--out", str(tmp_path / "bar")]  # fmt: skip
    assert main(argv) == 0
    assert "30/30" in capsys.readouterr().err
    assert main([*argv, "--no-progress"]) == 0
    assert "30/30" not in capsys.readouterr().err


def test_train_plastic_without_preset_uses_the_defaults(tmp_path, capsys):
    out = tmp_path / "defaults"
    argv = ["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "plastic",
            "--steps", "10", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main([*argv, "--no-preset"]) == 0
    assert json.loads((out / "result.json").read_text())["spec"]["hyperparameters"] == {}
    assert "the task's preset" not in capsys.readouterr().out
    assert main(argv) == 0
    assert "the task's preset" in capsys.readouterr().out
    assert main([*argv, "--preset", "--no-preset"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_train_ppo_reports_the_steps_it_really_runs(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    out = tmp_path / "ppo"
    argv = ["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "ppo", "--steps", "100",
            "--set", "n_steps=64", "--set", "batch_size=64", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "each agent runs 128 steps, not 100" in captured.out
    assert "steps per agent             128" in captured.out
    assert "128/128" in captured.err and "/100" not in captured.err  # the bar ends at 100%
    assert json.loads((out / "result.json").read_text())["metrics"]["steps"] == 128


def test_experiment_quick_has_its_own_default_folder(monkeypatch, tmp_path, capsys):
    import plasticgym.experiments.report as report
    from plasticgym.cli import default_experiment_out

    assert default_experiment_out("two_step", quick=True).name == "two_step-quick"
    assert default_experiment_out("two_step", quick=False).name == "two_step"
    seen = {}

    def fake_run(name, *, out, **kwargs):
        seen[name] = out
        return {"verdicts": {"ok": True}, "lines": {"ok": "fine"}}, report.ReportPaths(
            out, out / "report.md", out, out, {}, []
        )

    monkeypatch.setattr(report, "run_experiment", fake_run)
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "two_step", "--quick", "--no-progress"]) == 0
    assert main(["compare", "--no-progress"]) == 0
    assert seen == {
        "two_step": tmp_path.joinpath("plasticgym_runs", "two_step-quick").relative_to(tmp_path),
        "compare": tmp_path.joinpath("plasticgym_runs", "compare").relative_to(tmp_path),
    }
