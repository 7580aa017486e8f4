"""Golden values, computed by hand, for plasticgym.habits."""

import math

import numpy as np
import pytest
import torch

from plasticgym.envs.habit import schedule_step
from plasticgym.habits import (
    action_outcome_contingency,
    goal_values,
    habit_arbitration,
    habit_spread,
    habit_update,
    outcome_update,
    rate_correlation,
    rate_correlation_init,
    rate_correlation_update,
    reward_model_update,
)


def test_habit_update_moves_strengths_toward_the_action_taken_without_reward():
    h = torch.tensor([[[0.5, 0.0], [0.0, 0.0]]])  # [B=1, 2 actions, 2 inputs]
    chosen = torch.tensor([[0.0, 1.0]])
    pre = torch.tensor([[1.0, 0.5]])
    # strengths H x = [0.5, 0]; errors (a - H x) = [-0.5, 1]; dH = 0.1 * error (x) x
    expected = torch.tensor([[[0.5 - 0.05, -0.025], [0.1, 0.05]]])
    torch.testing.assert_close(habit_update(h, chosen, pre, 0.1), expected)
    # tabular case (one-hot x): H(s, a) <- H + alpha (a_t - H), per agent rates
    h2 = torch.zeros(2, 2, 1)
    out = habit_update(h2, torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.ones(2, 1),
                       torch.tensor([0.5, 0.25]))  # fmt: skip
    torch.testing.assert_close(out[:, :, 0], torch.tensor([[0.5, 0.0], [0.25, 0.0]]))


def test_habit_spread_and_arbitration():
    strengths = torch.tensor([[0.0, 0.5, 0.5], [0.2, 0.2, 0.2]])
    # mean 1/3: deviations 1/3, 1/6, 1/6 -> 2/9; equal habits -> 0
    torch.testing.assert_close(habit_spread(strengths), torch.tensor([2 / 9, 0.0]))
    share = habit_arbitration(torch.tensor([2 / 9, 0.0]), 0.15, 20.0)
    expected = [1 / (1 + math.exp(-20 * (2 / 9 - 0.15))), 1 / (1 + math.exp(3.0))]
    torch.testing.assert_close(share, torch.tensor(expected))
    # a contingency keeps control away from habits: margin - k * contingency
    spread = torch.tensor([2 / 9, 2 / 9])
    with_contingency = habit_arbitration(spread, 0.0, 20.0, torch.tensor([0.0, 0.1]), 0.5)
    expected = [1 / (1 + math.exp(-20 * 2 / 9)), 1 / (1 + math.exp(-20 * (2 / 9 - 0.05)))]
    torch.testing.assert_close(with_contingency, torch.tensor(expected))
    torch.testing.assert_close(
        habit_arbitration(spread, 0.15, 20.0, torch.tensor([0.3, 0.3]), 0.0),
        habit_arbitration(spread, 0.15, 20.0),
    )


def test_rate_correlation_update_by_hand():
    state = rate_correlation_init(1, 2, 1)
    chosen, outcome = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0]])
    state = rate_correlation_update(state, chosen, outcome, window=2.0, memory=4.0)
    # rates r_a = [0.5, 0], r_c = 0.5; means m = r / 4; deviations 3/8 r
    torch.testing.assert_close(state.action_rate, torch.tensor([[0.5, 0.0]]))
    torch.testing.assert_close(state.outcome_mean, torch.tensor([[0.125]]))
    torch.testing.assert_close(state.action_var, torch.tensor([[(0.375**2) / 4, 0.0]]))
    torch.testing.assert_close(state.covariance, torch.tensor([[[0.375**2 / 4], [0.0]]]))
    rho = rate_correlation(state, eps=0.0)
    assert rho[0, 0, 0] == 1.0 and torch.isnan(rho[0, 1, 0])  # 0/0 without eps
    torch.testing.assert_close(rate_correlation(state)[0, 1, 0], torch.tensor(0.0))
    assert action_outcome_contingency(state).item() > 0.99


def _experienced_contingency(interval: bool, prob: float, seed: int) -> np.ndarray:
    """Pressing one lever at a rate that drifts between bouts (64 simulated animals), on a
    ratio or interval schedule: the rate correlation they experience, and their outcome rate."""
    rng = np.random.default_rng(seed)
    n, steps = 64, 3000
    state = rate_correlation_init(n, 2, 1)
    armed = np.zeros((n, 2), bool)
    press_prob = rng.uniform(0.3, 0.9, n)
    outcomes = np.zeros(n)
    for t in range(steps):
        if t % 50 == 0:  # a new bout: the press rate drifts
            press_prob = np.clip(press_prob + rng.normal(0.0, 0.2, n), 0.1, 1.0)
        press = (rng.random(n) < press_prob).astype(np.int64)
        pay, armed = schedule_step(press, rng.random((n, 2)), armed, np.full(n, interval),
                                   np.full(n, prob), np.ones(n, bool))  # fmt: skip
        chosen = torch.as_tensor(np.stack([press == 0, press == 1], 1), dtype=torch.float32)
        outcome = torch.as_tensor(pay[:, :1], dtype=torch.float32)
        state = rate_correlation_update(state, chosen, outcome, window=10.0, memory=500.0)
        outcomes += pay[:, 0]
    return np.stack([rate_correlation(state)[:, 1, 0].numpy(), outcomes / steps])


def test_ratio_schedules_correlate_response_and_outcome_rates_more_than_interval_schedules():
    """Dickinson (1985): at matched outcome rates, the experienced response-outcome rate
    correlation is higher on a ratio than on an interval schedule."""
    ratio_rho, ratio_rate = _experienced_contingency(False, 1 / 5, seed=0)
    interval_rho, interval_rate = _experienced_contingency(True, 1 / 8, seed=1)
    assert abs(ratio_rate.mean() - interval_rate.mean()) < 0.03  # matched outcome rates
    difference = ratio_rho.mean() - interval_rho.mean()
    standard_error = math.sqrt(ratio_rho.var(ddof=1) / 64 + interval_rho.var(ddof=1) / 64)
    assert difference > 3 * standard_error and difference > 0.05, (difference, standard_error)


def test_outcome_update_learns_only_for_the_action_taken_in_its_situation():
    m = torch.zeros(1, 2, 3, 2)  # [B, actions, stimuli, inputs]
    chosen = torch.tensor([[1.0, 0.0]])
    pre = torch.tensor([[1.0, 0.0]])
    outcome = torch.tensor([[0.0, 1.0, 0.0]])
    out = outcome_update(m, chosen, pre, outcome, 0.5)
    assert out[0, 0, 1, 0] == 0.5 and out[0, 0, 1, 1] == 0.0  # only the active input
    assert torch.count_nonzero(out) == 1  # the other action and stimuli are untouched
    again = outcome_update(out, chosen, pre, outcome, 0.5)
    assert again[0, 0, 1, 0] == 0.75  # delta rule toward E[c | a, x] = 1


def test_reward_model_and_goal_values():
    r = torch.tensor([[0.0, 1.0]])
    stimuli = torch.tensor([[1.0, 1.0]])
    # prediction 1, reward 3: error 2, each present stimulus gains 0.1 * 2
    torch.testing.assert_close(
        reward_model_update(r, stimuli, torch.tensor([3.0]), 0.1), torch.tensor([[0.2, 1.2]])
    )
    m = torch.zeros(1, 2, 2, 1)
    m[0, 0, :, 0] = torch.tensor([0.2, 0.0])  # action 0 brings stimulus 0 with p = 0.2
    m[0, 1, :, 0] = torch.tensor([0.0, 0.5])
    value = torch.tensor([[-1.0, 2.0]])
    torch.testing.assert_close(goal_values(m, torch.ones(1, 1), value), torch.tensor([[-0.2, 1.0]]))


def test_goal_directed_preceding_reward_credits_the_stimuli_the_action_was_taken_in():
    """reward_stimuli='preceding': the reward goes to the stimuli of the step the action was
    taken in, at reward_lr; the default credits the stimuli that came with it at outcome_lr."""
    from plasticgym.habits import GoalDirected

    state = GoalDirected.init(1, 2, 3, 2, torch.device("cpu"))
    args = dict(chosen=torch.tensor([[1.0, 0.0]]), features_tm1=torch.tensor([[1.0, 0.0]]),
                onsets=torch.tensor([[1.0, 0.0, 0.0]]), channels=torch.tensor([[1.0, 0.0, 0.0]]),
                reward=torch.tensor([1.0]), active=torch.tensor([True]),
                channels_tm1=torch.tensor([[0.0, 1.0, 0.0]]))  # fmt: skip
    preceding = GoalDirected(reward_lr=0.5, reward_stimuli="preceding").update(state, **args)
    torch.testing.assert_close(preceding.reward_model, torch.tensor([[0.0, 0.5, 0.0]]))
    concurrent = GoalDirected().update(state, **args)
    torch.testing.assert_close(concurrent.reward_model, torch.tensor([[0.05, 0.0, 0.0]]))
    # the transition model keeps learning_rate whatever the reward model's rate
    torch.testing.assert_close(preceding.outcome_model, concurrent.outcome_model)
    assert preceding.outcome_model[0, 0, 0, 0] == 0.05


def test_dopamine_reward_model_update_golden_values():
    """R <- R + eta (g+ [e]+ + g- [e]-) c: the error's sign picks the gain; gains of 1 give the
    plain Rescorla-Wagner update exactly."""
    from plasticgym.habits import dopamine_reward_model_update

    r = torch.tensor([[0.2, 0.0], [0.6, 0.0]])
    stimuli = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    reward = torch.tensor([1.0, 0.0])  # errors +0.8 (agent 0), -0.6 (agent 1)
    out = dopamine_reward_model_update(r, stimuli, reward, 0.5, 0.5, 2.0)
    # agent 0: 0.2 + 0.5 * 0.5 * 0.8 = 0.4; agent 1: 0.6 + 0.5 * 2.0 * -0.6 = 0.0
    torch.testing.assert_close(out, torch.tensor([[0.4, 0.0], [0.0, 0.0]]))
    gains = torch.tensor([0.25, 1.0])  # per agent: 0.2 + 0.5 * 0.25 * 0.8 = 0.3; 0.6 - 0.3
    torch.testing.assert_close(dopamine_reward_model_update(r, stimuli, reward, 0.5, gains, gains),
                               torch.tensor([[0.3, 0.0], [0.3, 0.0]]))  # fmt: skip
    plain = reward_model_update(r, stimuli, reward, 0.5)
    assert torch.equal(dopamine_reward_model_update(r, stimuli, reward, 0.5, 1.0, 1.0), plain)


def test_goal_directed_reward_dopamine_passes_the_error_through_the_gains():
    """reward_dopamine=True: the reward model's error is scaled by the agent's dopamine gains
    (the transition model is not); off (default) the gains are ignored; on without gains is an
    error."""
    from plasticgym.habits import GoalDirected

    state = GoalDirected.init(1, 2, 3, 2, torch.device("cpu"))
    args = dict(chosen=torch.tensor([[1.0, 0.0]]), features_tm1=torch.tensor([[1.0, 0.0]]),
                onsets=torch.tensor([[1.0, 0.0, 0.0]]), channels=torch.tensor([[1.0, 0.0, 0.0]]),
                reward=torch.tensor([1.0]), active=torch.tensor([True]),
                channels_tm1=torch.tensor([[0.0, 1.0, 0.0]]))  # fmt: skip
    planner = dict(reward_lr=0.5, reward_stimuli="preceding")
    gated = GoalDirected(**planner, reward_dopamine=True).update(
        state, **args, dopamine_gains=(0.4, 3.0)
    )
    torch.testing.assert_close(gated.reward_model, torch.tensor([[0.0, 0.2, 0.0]]))  # 0.5*0.4
    plain = GoalDirected(**planner).update(state, **args, dopamine_gains=(0.4, 3.0))
    torch.testing.assert_close(plain.reward_model, torch.tensor([[0.0, 0.5, 0.0]]))
    assert torch.equal(gated.outcome_model, plain.outcome_model)
    with pytest.raises(ValueError, match="reward_dopamine=True needs dopamine_gains"):
        GoalDirected(reward_dopamine=True).update(state, **args)


def test_goal_directed_bad_reward_options_are_clear_errors():
    from plasticgym.habits import GoalDirected

    with pytest.raises(ValueError, match=r"reward_stimuli='after' is invalid: choose one of "
                                         r"concurrent, preceding"):  # fmt: skip
        GoalDirected(reward_stimuli="after")
    with pytest.raises(ValueError, match=r"GoalDirected.reward_lr: goal_reward_lr=1.5"):
        GoalDirected(reward_lr=1.5)
    with pytest.raises(ValueError, match=r"goal_reward_lr\[1\]"):
        GoalDirected(reward_lr=(0.5, -0.1))
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match=r"GoalDirected.reward_dopamine=.* is invalid: "
                                             r"choose True .* or False"):  # fmt: skip
            GoalDirected(reward_dopamine=bad)
