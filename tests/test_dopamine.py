"""Golden values, computed by hand, for the dopamine models."""

import torch

from plasticgym.dopamine import (
    allostatic_setpoint,
    average_reward_delta,
    dezfouli_dopamine,
    drive_reduction_reward,
    homeostatic_drive,
    redish_dopamine,
    running_average,
)


def test_redish_surge_cannot_be_predicted_away():
    delta = torch.tensor([-1.0, 0.5, -1.0, 0.2])
    drug = torch.tensor([True, True, False, False])
    # drug: max(delta + 0.3, 0.3) -> [0.3, 0.8]; no drug: delta
    out = redish_dopamine(delta, 0.3, drug)
    torch.testing.assert_close(out, torch.tensor([0.3, 0.8, -1.0, 0.2]))


def test_average_reward_delta_golden():
    # delta = r - rho + notterm * V(s_t) - V(s_tm1)
    out = average_reward_delta(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 2.0]),
                               torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0]),
                               torch.tensor([0.25, 0.25]))  # fmt: skip
    torch.testing.assert_close(out, torch.tensor([1.25, 0.75]))


def test_dezfouli_basal_level_offsets_the_surge():
    delta = torch.tensor([0.0, 0.0])
    drug = torch.tensor([True, False])
    out = dezfouli_dopamine(delta, 0.3, drug, kappa=torch.tensor([0.3, 0.3]))
    torch.testing.assert_close(out, torch.tensor([0.0, -0.3]))


def test_running_average_golden():
    out = running_average(torch.tensor([1.0, 0.0]), torch.tensor([3.0, 1.0]), 0.25)
    torch.testing.assert_close(out, torch.tensor([1.5, 0.25]))


def test_homeostatic_drive_and_reduction_golden():
    level = torch.tensor([0.0, 1.0, 3.0])
    # D = (|2 - h|^4)^(1/3): 16^(1/3), 1, 1
    drive = homeostatic_drive(level, 2.0, n=4.0, m=3.0)
    torch.testing.assert_close(drive, torch.tensor([16.0 ** (1 / 3), 1.0, 1.0]))
    reward = drive_reduction_reward(drive, torch.tensor([1.0, 0.0, 16.0 ** (1 / 3)]), 2.0)
    torch.testing.assert_close(reward, torch.tensor([2 * (16.0 ** (1 / 3) - 1), 2.0,
                                                     2 * (1 - 16.0 ** (1 / 3))]))  # fmt: skip


def test_allostatic_setpoint_rises_with_exposure():
    allostasis = torch.tensor([0.0, 2.0])
    torch.testing.assert_close(allostatic_setpoint(1.0, allostasis, 0.5), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(  # per-agent gains; g = 0 keeps the setpoint fixed
        allostatic_setpoint(torch.tensor([1.0, 1.0]), allostasis, torch.tensor([0.0, 1.0])),
        torch.tensor([1.0, 3.0]),
    )
