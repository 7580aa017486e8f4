"""Golden values, computed by hand, for plasticgym.latent_causes."""

import math

import torch

from plasticgym.latent_causes import (
    PRIOR_VARIANCE,
    cause_log_likelihood,
    cause_posterior,
    cause_statistics_update,
    form_cause,
    gate_by_cause,
    latent_causes_init,
    new_cause_weights,
    split_due,
)


def test_init_has_one_cause_believed_with_certainty():
    causes = latent_causes_init(2, 3, 4)
    assert causes.used.tolist() == [[True, False, False]] * 2
    assert causes.posterior.tolist() == [[1.0, 0.0, 0.0]] * 2
    assert causes.mean.shape == causes.variance.shape == (2, 3, 4)
    assert bool((causes.variance == PRIOR_VARIANCE).all())
    assert causes.summary.shape == (2, 4) and causes.error.shape == (2,)


def test_log_likelihood_is_a_diagonal_gaussian_density():
    summary = torch.tensor([[1.0, 0.0]])
    mean = torch.tensor([[[1.0, 0.0], [0.0, 0.5]]])
    variance = torch.tensor([[[0.5, 0.5], [1.0, 0.25]]])
    # cause 0: both channels at the mean -> -1/2 * 2 log(2 pi 0.5) = -log(pi)
    # cause 1: (1 - 0)^2 / 1 + (0 - 0.5)^2 / 0.25 = 2 -> -1/2 [2 + log(2 pi) + log(pi / 2)]
    expected = torch.tensor([[-math.log(math.pi), -0.5 * (2 + math.log(math.pi**2))]])
    torch.testing.assert_close(cause_log_likelihood(summary, mean, variance), expected)


def test_posterior_normalises_over_formed_causes_only():
    log_likelihood = torch.tensor([[0.0, math.log(3.0), 100.0]])
    used = torch.tensor([[True, True, False]])
    torch.testing.assert_close(cause_posterior(log_likelihood, used),
                               torch.tensor([[0.25, 0.75, 0.0]]))  # fmt: skip


def test_statistics_learn_in_proportion_to_the_belief_and_keep_the_floor():
    mean = torch.zeros(1, 2, 1)
    variance = torch.full((1, 2, 1), 0.1)
    summary = torch.tensor([[1.0]])
    posterior = torch.tensor([[1.0, 0.0]])
    new_mean, new_variance = cause_statistics_update(mean, variance, summary, posterior, 0.5,
                                                     1e-3)  # fmt: skip
    # believed cause: mu 0 + 0.5 * 1 = 0.5; v 0.1 + 0.5 (1 - 0.1) = 0.55; the other unchanged
    torch.testing.assert_close(new_mean[0, :, 0], torch.tensor([0.5, 0.0]))
    torch.testing.assert_close(new_variance[0, :, 0], torch.tensor([0.55, 0.1]))
    # a cause that always sees its mean shrinks to the floor, no further
    v = variance
    for _ in range(200):
        _, v = cause_statistics_update(mean, v, torch.zeros(1, 1), posterior, 0.5, 1e-3)
    assert math.isclose(float(v[0, 0, 0]), 1e-3, rel_tol=1e-6)


def test_a_run_of_negative_errors_forms_the_next_cause_until_none_is_left():
    causes = latent_causes_init(3, 2, 1)
    error = torch.tensor([-0.2, -0.05, -0.2])
    used = causes.used.clone()
    used[2, 1] = True  # the third agent has formed both causes already
    due = split_due(error, used, 0.1)
    assert due.tolist() == [True, False, False]

    state = causes._replace(
        summary=torch.tensor([[0.8], [0.3], [0.1]]),
        variance=torch.tensor([[[0.2], [0.25]], [[0.2], [0.25]], [[0.2], [0.25]]]),
        error=error,
    )
    new, formed = form_cause(state, due)
    assert formed.tolist() == [[False, True], [False, False], [False, False]]
    assert new.used[0].tolist() == [True, True]
    assert new.posterior[0].tolist() == [0.0, 1.0]
    assert math.isclose(float(new.mean[0, 1, 0]), 0.8, rel_tol=1e-6)  # the current summary
    assert math.isclose(float(new.variance[0, 1, 0]), 0.2, rel_tol=1e-6)  # believed cause's
    torch.testing.assert_close(new.error, torch.tensor([0.0, -0.05, -0.2]))
    assert torch.equal(new.mean[1:], state.mean[1:])
    assert torch.equal(new.posterior[1:], state.posterior[1:])


def test_gating_gives_every_cause_its_block_of_the_code():
    features = torch.tensor([[1.0, 2.0]])
    posterior = torch.tensor([[0.25, 0.75]])
    torch.testing.assert_close(gate_by_cause(features, posterior),
                               torch.tensor([[0.25, 0.5, 0.75, 1.5]]))  # fmt: skip


def test_new_cause_weights_inherit_the_mixture_of_the_believed_causes():
    # [B=1, P=1, K=2 blocks of 2 features + 1 shared column]
    weights = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 9.0]]])
    posterior = torch.tensor([[0.5, 0.5]])
    formed = torch.tensor([[False, True]])
    inherited = new_cause_weights(weights, 2, posterior, formed)
    torch.testing.assert_close(inherited, torch.tensor([[[1.0, 2.0, 2.0, 3.0, 9.0]]]))
    nothing = new_cause_weights(weights, 2, posterior, torch.zeros(1, 2, dtype=torch.bool))
    assert torch.equal(nothing, weights)
