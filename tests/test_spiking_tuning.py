"""The spiking rules' tuning study: equal budget, held-out seeds, winner choice, and the calcium
rule's presynaptic regime (experiments/spiking_tuning.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from plasticgym.experiments import spiking_tuning as st


def test_every_arm_gets_the_same_budget() -> None:
    trials, index = st.tuning_trials()
    assert len(trials) == len(st.ARMS) * st.N_CONFIGS * len(st.TUNING_SEEDS)
    per_arm = index.groupby("arm").size()
    assert set(per_arm) == {st.N_CONFIGS * len(st.TUNING_SEEDS)}
    budgets = {(t.spec["n_agents"], t.spec["steps"]) for t in trials}
    assert budgets == {(st.N_AGENTS, st.STEPS)}
    assert len({t.id for t in trials}) == len(trials)


def test_configuration_zero_is_the_reference_and_draws_lie_in_the_range() -> None:
    for arm in st.ARMS:
        configs = st.arm_configs(arm)
        ref = st.reference_lr(arm)
        assert configs[0] == {"actor_lr": ref}
        for config in configs[1:]:
            assert st.LOW_FACTOR * ref <= config["actor_lr"] <= st.HIGH_FACTOR * ref
        assert configs == st.arm_configs(arm)  # deterministic
    assert st.reference_lr("mstdpet") == st.RULE_DEFAULTS_AT_PROTOCOL["mstdpet"]


def test_tuning_and_evaluation_seeds_are_disjoint_and_not_the_experiments() -> None:
    assert not set(st.TUNING_SEEDS) & set(st.EVAL_SEEDS)
    assert not (set(st.TUNING_SEEDS) | set(st.EVAL_SEEDS)) & {0, 1, 2}


def test_winners_take_the_highest_mean_ties_the_lower_point_and_skip_incomplete() -> None:
    index = pd.DataFrame({
        "id": list("abcdefgh"), "arm": ["x"] * 6 + ["y"] * 2,
        "point": [0, 0, 1, 1, 2, 2, 0, 0], "actor_lr": [1, 1, 2, 2, 3, 3, 5, 5],
        "seed": [0, 1] * 4,
    })  # fmt: skip
    metrics = pd.DataFrame({"id": list("abcdegh"),
                            "mean_reward": [0.5, 0.7, 0.6, 0.6, 0.9, 0.1, 0.2]})  # fmt: skip
    best = st.winners(index, metrics).set_index("arm")
    # point 2 of x lacks seed 1 ("f"): not eligible; points 0 and 1 tie at 0.6 -> point 0
    assert best.loc["x", "point"] == 0 and best.loc["x", "objective"] == pytest.approx(0.6)
    assert best.loc["y", "point"] == 0
    metrics.loc[metrics["id"] == "c", "mean_reward"] = 0.61
    assert st.winners(index, metrics).set_index("arm").loc["x", "point"] == 1


def test_unknown_arm_is_refused() -> None:
    with pytest.raises(ValueError, match="arm='nope' is invalid"):
        st.search_space("nope")


def test_silenced_actor_leaves_only_presynaptic_eligibility() -> None:
    # mechanism check: Florian's zeta needs a postsynaptic spike for every term
    silent = st.eligibility_profile(n_windows=3, n_agents=2, rule="mstdpet", silence_actor=True)
    assert silent["rate_hz"] == 0.0 and silent["active"] == 0.0 and silent["sd_sum"] == 0.0
    # the calcium rule at c_pre 1: presynaptic calcium alone potentiates active inputs
    high = st.eligibility_profile(n_windows=5, n_agents=4, rule="calcium", silence_actor=True)
    assert high["rate_hz"] == 0.0 and high["active"] > 0.3
    # at the low c_pre it cannot: presynaptic calcium alone rarely reaches theta_d
    low = st.eligibility_profile(
        n_windows=5, n_agents=4, rule="calcium", c_pre=st.LOW_PRE_CALCIUM, silence_actor=True
    )
    assert low["active"] <= 0.0 and not math.isnan(low["active"])


def test_rule_defaults_are_the_recorded_tuning_winners() -> None:
    """RULE_DEFAULTS' learning rates are the study's winners rounded to 2 significant figures
    (benchmarks/results/spiking_tuning/winners.csv): changing one without re-tuning fails."""
    from pathlib import Path

    from plasticgym.agents.spiking import RULE_DEFAULTS

    path = Path(__file__).resolve().parents[1] / "benchmarks/results/spiking_tuning/winners.csv"
    winners = pd.read_csv(path).set_index("arm")
    for rule, defaults in RULE_DEFAULTS.items():
        assert defaults["actor_lr"] == float(f"{winners.loc[rule, 'actor_lr']:.2g}"), rule
