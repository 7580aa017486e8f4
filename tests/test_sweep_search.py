"""Random search in sweeps (plasticgym/sweep.py ``[search]``, :func:`sample_configs`): seeded,
deterministic, within the distributions' bounds, validated, and run like a grid."""

from __future__ import annotations

import math

import pytest

from plasticgym.sweep import (
    SweepConfig,
    SweepConfigError,
    Trial,
    run_trials,
    sample_configs,
    trial_id,
    trial_spec,
)

SPACE = {
    "learning_rate": {"log_uniform": [0.01, 1.0]},
    "trace_lambda": {"uniform": [0.0, 0.9]},
    "n_sweeps": {"int_uniform": [1, 4]},
    "buffer": {"int_log_uniform": [10, 1000]},
    "policy": {"choice": ["softmax", "epsilon_greedy"]},
}


def test_samples_are_deterministic_bounded_and_prefix_stable():
    configs = sample_configs(SPACE, 50, seed=7)
    assert configs == sample_configs(SPACE, 50, seed=7)
    assert configs != sample_configs(SPACE, 50, seed=8)
    assert sample_configs(SPACE, 10, seed=7) == configs[:10]
    for config in configs:
        assert 0.01 <= config["learning_rate"] <= 1.0 and 0.0 <= config["trace_lambda"] <= 0.9
        assert config["n_sweeps"] in {1, 2, 3, 4} and isinstance(config["n_sweeps"], int)
        assert 10 <= config["buffer"] <= 1000 and isinstance(config["buffer"], int)
        assert config["policy"] in {"softmax", "epsilon_greedy"}
    assert {c["n_sweeps"] for c in configs} == {1, 2, 3, 4}
    # log-uniform: about half of the draws below the geometric mean 0.1
    below = sum(c["learning_rate"] < 0.1 for c in configs) / len(configs)
    assert 0.3 < below < 0.7
    # a hyperparameter's draws do not depend on the others in the space
    alone = sample_configs({"learning_rate": SPACE["learning_rate"]}, 50, seed=7)
    assert [c["learning_rate"] for c in alone] == [c["learning_rate"] for c in configs]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lr": {"normal": [0, 1]}}, r"search\.space\.lr=.* kind one of \['uniform'"),
        ({"lr": {"log_uniform": [0.0, 1.0]}}, r"log_uniform\[0\]=0\.0 is invalid"),
        ({"lr": {"uniform": [2.0, 1.0]}}, r"uniform\[1\]=1\.0 is invalid"),
        ({"n": {"int_uniform": [1.5, 3]}}, r"int_uniform\[0\]=1\.5 is invalid"),
        ({"p": {"choice": []}}, r"choice=\[\] is invalid"),
        ({}, r"search\.space=\{\} is invalid"),
    ],
)
def test_bad_spaces_name_the_hyperparameter(space, message):
    with pytest.raises(ValueError, match=message):
        sample_configs(space, 3, 0)


def test_a_search_config_has_configurations_x_seeds_trials(tmp_path):
    data = {"env": "plasticgym/ReversalBandit-v0", "agent": ["q_learning", "sarsa_lambda"],
            "seeds": 2, "params": {"steps": 20, "n_agents": 2},
            "search": {"n_configs": 3, "seed": 5,
                       "space": {"learning_rate": {"log_uniform": [0.05, 0.5]}}}}  # fmt: skip
    config = SweepConfig.from_dict(data)
    trials = config.trials()
    assert len(trials) == 2 * 3 * 2 and [t.point for t in trials[:6]] == [0, 0, 1, 1, 2, 2]
    rates = [c["learning_rate"] for c in sample_configs(data["search"]["space"], 3, 5)]
    assert [t.spec["hyperparameters"]["learning_rate"] for t in trials[::2]] == rates * 2
    assert SweepConfig.from_dict(config.to_dict()).trials() == trials
    summary = run_trials(trials[:4], tmp_path, config=config.to_dict())
    assert summary.results["point"].tolist() == [0, 0, 1, 1]
    assert all(math.isfinite(v) for v in summary.results["mean_reward"])
    with pytest.raises(SweepConfigError, match="either grid or search"):
        SweepConfig.from_dict({**data, "grid": {"gamma": [0.0, 0.5]}})
    with pytest.raises(SweepConfigError, match=r"\['learning_rate'\] are both in search\.space"):
        SweepConfig.from_dict(
            {**data, "params": {"steps": 20, "hyperparameters": {"learning_rate": 0.1}}}
        )


def test_run_trials_refuses_repeated_or_mislabelled_trials(tmp_path):
    spec = trial_spec(env="plasticgym/ReversalBandit-v0", agent="q_learning", seed=0, steps=10)
    item = Trial(trial_id(spec), spec)
    with pytest.raises(ValueError, match="repeat"):
        run_trials([item, item], tmp_path)
    with pytest.raises(ValueError, match="is not the id of its spec"):
        run_trials([Trial("0" * 12, spec)], tmp_path)


def test_the_sweep_command_runs_a_search_config(tmp_path, capsys):
    from plasticgym.cli import main

    config = tmp_path / "search.toml"
    config.write_text(
        'env = "plasticgym/ReversalBandit-v0"\nagent = "q_learning"\nseeds = 1\n'
        "[params]\nsteps = 20\nn_agents = 2\n"
        "[search]\nn_configs = 2\nseed = 3\n"
        "[search.space]\nlearning_rate = { log_uniform = [0.05, 0.5] }\n"
    )
    code = main(["sweep", str(config), "--out", str(tmp_path / "out"), "--in-process",
                 "--no-progress"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "2 trials (envs x agents x drawn configurations x seeds = 1 x 1 x 2 x 1)" in printed
    assert "point" in printed and "learning_rate" in printed


def test_a_search_whose_draws_repeat_is_refused_with_the_search_named():
    space = {"policy": {"choice": ["softmax", "epsilon_greedy"]}}
    same = r"search: configurations \d+ and \d+ of n_configs=4 are the same draw"
    with pytest.raises(ValueError, match=same):
        sample_configs(space, 4, seed=0)
    config = {"env": ["plasticgym/ReversalBandit-v0"], "agent": ["q_learning"], "seeds": [0],
              "params": {"steps": 20, "n_agents": 2},
              "search": {"n_configs": 4, "seed": 0, "space": space}}  # fmt: skip
    with pytest.raises(SweepConfigError, match="too few distinct points"):
        SweepConfig.from_dict(config)
    assert len(sample_configs(space, 1, seed=0)) == 1
