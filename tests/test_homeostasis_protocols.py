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


# Parts 5b and 7 (homeo2): the raised input, the drift decomposition, the sharp readout.


def test_raise_effects_use_the_raised_groups_and_their_paired_controls():
    config = _config(learning_steps=1000)
    frame = _protocols(0.0, config)
    frame = frame[frame["group"].str.startswith("control")]
    raised = frame.copy()
    at, last = config.deprivation_step(), config.learning_steps * 0.7
    back = np.where(raised["step"] > last, 0.25, 0.0)
    raised["rate"] = np.where(raised["step"] > at, raised["rate"] * 2.0 ** (1 - back),
                              raised["rate"])  # fmt: skip
    raised["group"] = raised["group"].str.replace("control", "raised")
    effects = h.deprivation_effects(pd.concat([frame, raised]), config, treated="raised")
    np.testing.assert_allclose(effects["drop"], np.log(2.0), atol=1e-9)
    np.testing.assert_allclose(effects["returned"], 0.25, atol=1e-9)


def test_raise_parameters_pair_with_part_5():
    config = _config()
    params = h.raise_parameters(config)
    part5 = h.protocol_parameters(config).groupby("pair")["actor_lr"].first()
    assert len(params) == len(h.RAISE_GROUPS) * config.n_agents
    for _, rows in params.groupby("group"):
        np.testing.assert_array_equal(rows.sort_values("pair")["actor_lr"], part5.to_numpy())
    sharp = params["group"].str.startswith("sharp")
    assert (params[sharp]["inverse_temperature"] == config.sharp_inverse_temperature).all()
    assert (params[~sharp]["inverse_temperature"] == 5.0).all()
    assert set(params[params["raised"]]["group"]) == {"raised_scaling", "raised_noscaling"}
    assert (params[params["group"].str.endswith("noscaling")]["scaling_rate"] == 0).all()


def test_policy_value_by_hand():
    probs_go = torch.tensor([0.8, 0.8, 0.0])
    is_target = torch.tensor([True, False, False])
    np.testing.assert_allclose(h.policy_value(probs_go, is_target, 0.5), [0.8, -0.4, 0.0])


def test_drift_agent_only_reads_and_its_drift_is_the_three_factor_change():
    kwargs = {"n_agents": 4, "seed": 5, "actor_post": "rate", "synaptic_scaling": False,
              "env_kwargs": {"n_trials": 100}, **h.plastic_preset(h.TONE)}  # fmt: skip
    plain, drift = h.DeprivableAgent(h.TONE, **kwargs), h.DriftAgent(h.TONE, **kwargs)
    drift.drift_from = 30
    plain.learn(40, record=True)
    drift.learn(40, record=True)
    pd.testing.assert_frame_equal(plain.records, drift.records)  # reading changes nothing
    assert drift.drift_steps.max() == 10
    assert drift.dopamine_residual < 1e-5  # DA = tonic + (r - V_pi) + (V_pi - V)
    one = h.DriftAgent(h.TONE, **kwargs)
    one.learn(30)
    before = one.actor_weights.clone()
    one.drift_from = 30
    one.learn(1)
    after = one.actor_weights
    change = (after - before).sum(-1) / before.sum(-1)
    inside = ((after > 0) & (after < one.config.actor_weight_max)).all(-1)  # no bound hit
    assert inside.any()
    measured = one.drift_sum.sum(0)
    torch.testing.assert_close(measured[inside], change[inside], rtol=1e-4, atol=1e-7)
    rows = one.drift_rows()
    np.testing.assert_allclose(rows["tonic"], 0.0)  # the default has no tonic dopamine
    np.testing.assert_allclose(rows["total"], rows[["tonic", "policy", "critic"]].sum(axis=1))


def test_config_rejects_a_raise_that_does_not_raise():
    import pytest

    with pytest.raises(ValueError, match="raise_gain"):
        h.Config.quick(raise_gain=1.0)
    with pytest.raises(ValueError, match="sharp_inverse_temperature"):
        h.Config.quick(sharp_inverse_temperature=0.0)


def _drift_tables(default_drift: float, sharp_late: float):
    """Synthetic part-7 inputs: 8 pairs per group, the default-readout drift ``default_drift``
    eta (its offset matching it), the sharp readout's late rate ``sharp_late`` x target."""
    eta, rng = h.DEFAULT_SCALING.scaling_rate, np.random.default_rng(0)
    drift, late, skill = [], [], []
    values = {"control_scaling": (default_drift, 1 + default_drift / 0.8),
              "control_noscaling": (0.1, 7.0), "sharp_scaling": (0.3, sharp_late),
              "sharp_noscaling": (0.05, 3.5)}  # fmt: skip
    for group, (d, rate) in values.items():
        for pair in range(8):
            noise = 1 + 0.02 * rng.standard_normal()
            drift.append({"group": group, "pair": pair, "tonic": 0.0, "critic": 0.0,
                          "policy": d * eta * noise, "total": d * eta * noise})  # fmt: skip
            late.append({"group": group, "pair": pair, "late": rate * noise})
            skill.append({"agent": pair, "group": group, "discrimination": 0.9 * noise})
    return pd.DataFrame(drift), pd.DataFrame(late), pd.DataFrame(skill)


def test_drift_verdicts_follow_the_numbers():
    config = _config()
    kept = h.analyse_drift(*_drift_tables(1.0, 1.3), config).verdicts
    assert not kept["learned_drift_vanishes"] and kept["offset_matches_drift"]
    assert kept["sharp_readout_rates_near_target"] and kept["sharp_readout_drift_vanishes"]
    assert kept["sharp_readout_scaling_lowers_rates"] and kept["sharp_readout_task_learned"]
    gone = h.analyse_drift(*_drift_tables(0.2, 2.0), config).verdicts
    assert gone["learned_drift_vanishes"] and not gone["sharp_readout_rates_near_target"]
