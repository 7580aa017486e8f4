"""Golden values, computed by hand, for plasticgym.habits."""

import math

import torch

from plasticgym.habits import (
    goal_values,
    habit_arbitration,
    habit_spread,
    habit_update,
    outcome_update,
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
