"""The homeostasis experiment's parts 5-6 (issue 15): the deprivable agent, the paired
population's parameters and the difference-in-differences of the in-vivo protocol."""

import numpy as np
import pandas as pd
import torch

from plasticgym.experiments import homeostasis as h


def _config(**overrides):
    return h.Config.quick(
        **{"n_agents": 16, "learning_steps": 400, "culture_inputs": 100, **overrides}
    )


def test_deprivable_agent_without_gain_is_the_plastic_agent_step_for_step():
    plain = h.PlasticAgent(h.TONE, n_agents=4, seed=3, actor_post="rate",
                           env_kwargs={"n_trials": 100})  # fmt: skip
    gated = h.DeprivableAgent(h.TONE, n_agents=4, seed=3, actor_post="rate",
                              env_kwargs={"n_trials": 100})  # fmt: skip
    for agent in (plain, gated):
        agent.learn(60, record=True)
    pd.testing.assert_frame_equal(plain.records, gated.records)
    assert torch.equal(plain.actor_weights, gated.actor_weights)


def test_deprivable_agent_scales_the_actor_input_and_its_rates():
    agent = h.DeprivableAgent(h.TONE, n_agents=2, seed=0, actor_post="rate",
                              env_kwargs={"n_trials": 100})  # fmt: skip
    agent.learn(5)
    agent.input_gain = torch.tensor([0.5, 1.0])
    seen = {}

    def grab(a):
        seen["input"], seen["rates"] = a.actor_input.clone(), a.rates.clone()

    agent.learn(1, callback=grab)
    drive = torch.relu(torch.einsum("bpi,bi->bp", agent.actor_weights, seen["input"]))
    assert torch.allclose(seen["rates"], drive, atol=1e-6)
    assert torch.allclose(seen["input"][0, -1], torch.tensor(0.5 * seen["input"][1, -1].item()))


def test_protocol_parameters_pair_the_groups():
    config = _config()
    params = h.protocol_parameters(config)
    assert len(params) == len(h.PROTOCOL_GROUPS) * config.n_agents
    lr = params.pivot(index="pair", columns="group", values="actor_lr")
    assert (lr.nunique(axis=1) == 1).all()  # one actor_lr per pair, every group
    assert lr.iloc[:, 0].between(*config.actor_lr).all()
    by_group = params.groupby("group")
    assert (by_group.get_group("control_noscaling")["scaling_rate"] == 0).all()
    assert (by_group.get_group("integral")["integral_rate"] == config.integral_rate).all()
    assert set(params[params["deprived"]]["group"]) == {"deprived_scaling", "deprived_noscaling"}
    sweep = by_group.get_group("sweep")["scaling_rate"]
    assert set(sweep) == set(config.sweep_scaling_rates)
    assert h.protocol_parameters(config).equals(params)  # deterministic


def _protocols(returned: float, config) -> pd.DataFrame:
    """Synthetic window rates: every group drifts up alike; the deprived agents' rates halve
    right after the deprivation and undo ``returned`` of it (in log) by the late windows."""
    at, window = config.deprivation_step(), config.window
    steps = np.arange(window, config.learning_steps + 1, window)
    rows = []
    for group in h.PROTOCOL_GROUPS:
        for pair in range(4):
            rate = 0.2 * np.exp(steps / 4000.0) * (1 + 0.1 * pair)
            if group.startswith("deprived"):
                back = np.where(steps > config.learning_steps * 0.7, returned, 0.0)
                rate = np.where(steps > at, rate * 0.5 ** (1 - back), rate)
            rows.append(pd.DataFrame({"step": steps, "rate": rate, "group": group,
                                      "pair": pair}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_deprivation_effects_undo_the_shared_drift():
    config = _config(learning_steps=1000)
    for returned in (0.0, 0.8):
        effects = h.deprivation_effects(_protocols(returned, config), config)
        np.testing.assert_allclose(effects["drop"], np.log(0.5), atol=1e-9)
        np.testing.assert_allclose(effects["returned"], returned, atol=1e-9)
