"""Progress bars end at 100%, and the long experiments of the tour show one (issue 18)."""

from __future__ import annotations

import pandas as pd

from plasticgym.agents import PlasticAgent
from plasticgym.experiments import addiction, habit_devaluation


def _last_bar(err: str) -> str:
    return err.replace("\r", "\n").strip().splitlines()[-1]


def test_a_run_stopped_by_its_callback_ends_the_bar_at_100_percent(capsys):
    agent = PlasticAgent("plasticgym/Pavlovian-v0", n_agents=2, seed=0)
    agent.learn(100, progress_bar=True, callback=lambda a: a.num_timesteps < 10)
    agent.close()
    last = _last_bar(capsys.readouterr().err)
    assert "100%" in last and "10/10" in last, last


def test_habit_devaluation_shows_progress_over_its_groups(monkeypatch, capsys):
    calls = []

    def fake_train(config, n_agents, seed, env_kwargs, **kwargs):
        calls.append(seed)
        return pd.DataFrame({"agent": [0], "step": [0], "phase": ["train"], "action": [1],
                             "reward": [0.0]})  # fmt: skip

    monkeypatch.setattr(habit_devaluation, "_train_and_test", fake_train)
    config = habit_devaluation.Config.quick()
    habit_devaluation.run(config, None, progress_bar=True)
    total = len(config.groups()) + len(config.single_lever_groups())
    assert len(calls) == total
    last = _last_bar(capsys.readouterr().err)
    assert "100%" in last and f"{total}/{total}" in last, last


def test_addiction_shows_progress_over_its_parts(monkeypatch, capsys):
    for name in ("values", "cost", "blocking", "criteria", "escalation", "relapse"):
        monkeypatch.setattr(
            addiction, f"run_{name}", lambda config, tensorboard_log=None: pd.DataFrame()
        )
    records = addiction.run(addiction.Config.quick(), None, progress_bar=True)
    assert len(records) == 6
    last = _last_bar(capsys.readouterr().err)
    assert "100%" in last and "6/6" in last, last
