"""Golden values, computed by hand, for the three-factor maths."""

import math

import pytest
import torch

from plasticgym.rules import (
    bounded_dw,
    dopamine_from_rpe,
    eligibility_update,
    per_agent,
    td_error,
    three_factor_dw,
)


def test_td_error_golden():
    # delta = r + discount * v_t - v_tm1
    v_tm1 = torch.tensor([0.5, 1.0, 0.0])
    r_t = torch.tensor([1.0, 0.0, 1.0])
    discount = torch.tensor([0.9, 0.9, 0.0])
    v_t = torch.tensor([0.2, 1.0, 5.0])
    expected = torch.tensor([1.0 + 0.18 - 0.5, 0.9 - 1.0, 1.0])
    torch.testing.assert_close(td_error(v_tm1, r_t, discount, v_t), expected)


def test_dopamine_gains_scale_bursts_and_dips_separately():
    rpe = torch.tensor([0.8, -0.4, 0.0])
    torch.testing.assert_close(dopamine_from_rpe(rpe), rpe)
    torch.testing.assert_close(
        dopamine_from_rpe(rpe, gain_positive=0.5, gain_negative=2.0),
        torch.tensor([0.4, -0.8, 0.0]),
    )
    per = dopamine_from_rpe(rpe, gain_positive=torch.tensor([1.0, 1.0, 3.0]), gain_negative=0.0)
    torch.testing.assert_close(per, torch.tensor([0.8, 0.0, 0.0]))


def test_eligibility_update_golden():
    # e_ij <- decay * e_ij + post_i * pre_j
    e = torch.tensor([[[1.0, 2.0], [0.0, -1.0]]])  # [1, 2 post, 2 pre]
    post = torch.tensor([[1.0, -0.5]])
    pre = torch.tensor([[2.0, 4.0]])
    expected = torch.tensor([[[0.5 + 2.0, 1.0 + 4.0], [0.0 - 1.0, -0.5 - 2.0]]])
    torch.testing.assert_close(eligibility_update(e, post, pre, 0.5), expected)


def test_eligibility_decay_per_agent():
    e = torch.ones(2, 1, 1)
    zero = torch.zeros(2, 1)
    out = eligibility_update(e, zero, zero, torch.tensor([0.0, 0.25]))
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 0.25]))


def test_three_factor_needs_dopamine():
    e = torch.tensor([[[1.0, -2.0]], [[3.0, 0.5]]])
    dopamine = torch.tensor([0.0, -0.5])
    dw = three_factor_dw(e, dopamine, 0.1)
    torch.testing.assert_close(dw, torch.tensor([[[0.0, 0.0]], [[-0.15, -0.025]]]))
    dw_per_agent = three_factor_dw(e, torch.ones(2), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(dw_per_agent, torch.tensor([[[1.0, -2.0]], [[6.0, 1.0]]]))


def test_bounded_dw_golden():
    w = torch.tensor([[[0.9, 0.1, 0.5]]])
    dw = torch.tensor([[[0.5, -0.5, 0.2]]])
    torch.testing.assert_close(bounded_dw(w, dw, 0.0, 1.0), torch.tensor([[[0.1, -0.1, 0.2]]]))


def test_per_agent_broadcasts():
    like = torch.zeros(3, 2, 4)
    assert per_agent(0.5, like) == 0.5
    assert per_agent(torch.ones(3), like).shape == (3, 1, 1)
    assert math.isclose(float(per_agent(torch.tensor([0.5]), like[:1])), 0.5)


@pytest.mark.parametrize("decay", [0.0, 0.9])
def test_td_lambda_equivalence(decay):
    """TD(lambda) on a 2-state chain by hand equals the three-factor critic update."""
    features = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])]
    w = torch.zeros(1, 1, 2)
    e = torch.zeros(1, 1, 2)
    # transition 0 -> 1 with reward 0, then 1 -> terminal with reward 1; gamma 1, lr 0.5
    for x_tm1, x_t, r, discount in (
        (features[0], features[1], 0.0, 1.0),
        (features[1], torch.zeros(1, 2), 1.0, 0.0),
    ):
        delta = td_error(
            (w[:, 0] * x_tm1).sum(1),
            torch.tensor([r]),
            torch.tensor([discount]),
            (w[:, 0] * x_t).sum(1),
        )
        e = eligibility_update(e, torch.ones(1, 1), x_tm1, decay)
        w = w + three_factor_dw(e, delta, 0.5)
    # step 1: delta=0 -> no change; step 2: delta=1, e=[decay, 1] -> w=[0.5*decay, 0.5]
    torch.testing.assert_close(w.flatten(), torch.tensor([0.5 * decay, 0.5]))
