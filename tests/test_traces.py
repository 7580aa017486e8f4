"""Golden values for the presynaptic temporal code."""

import math

import torch

from plasticgym.encoding import MicrostimulusEncoder
from plasticgym.traces import microstimuli, stimulus_trace


def test_stimulus_trace_restarts_and_decays_with_several_time_constants():
    trace = torch.zeros(1, 1, 2)
    decays = torch.tensor([0.5, 0.9])
    heights = []
    for x in (1.0, 0.0, 0.0, 1.0, 0.0):
        trace = stimulus_trace(trace, torch.tensor([[x]]), decays)
        heights.append(trace.flatten().tolist())
    expected = [[1.0, 1.0], [0.5, 0.9], [0.25, 0.81], [1.0, 1.0], [0.5, 0.9]]
    for got, want in zip(heights, expected, strict=True):
        assert all(math.isclose(g, w, rel_tol=1e-6) for g, w in zip(got, want, strict=True))


def test_microstimuli_golden():
    # m_i = y * exp(-(y - c_i)^2 / (2 w^2))
    y = torch.tensor([0.5])
    centers = torch.tensor([0.5, 0.3])
    m = microstimuli(y, centers, 0.1)
    expected = torch.tensor([[0.5, 0.5 * math.exp(-(0.2**2) / (2 * 0.01))]])
    torch.testing.assert_close(m, expected)


def test_microstimuli_peak_later_for_lower_centres():
    decay = 0.9
    steps = torch.arange(30, dtype=torch.float32)
    trace = decay**steps
    centers = torch.linspace(1.0, 0.05, 10)
    m = microstimuli(trace, centers, 0.05)  # [30, 10]
    peaks = m.argmax(dim=0)
    assert torch.all(peaks[1:] >= peaks[:-1])
    assert peaks[-1] > peaks[0]
    peak_heights = m.max(dim=0).values
    assert peak_heights[-1] < 0.5 * peak_heights[0]  # later units are weaker


def test_encoder_reward_reset_and_episode_start():
    encoder = MicrostimulusEncoder(2, 4, 0.1, 0.5, reward_resets_traces=True)
    state = encoder.init(2, torch.device("cpu"))
    cue = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    nothing = torch.zeros(2, 2)
    no_reward = torch.zeros(2)
    never = torch.zeros(2, dtype=torch.bool)
    _, state = encoder.encode(state, cue, no_reward, never)
    _, state = encoder.encode(state, nothing, torch.tensor([1.0, 0.0]), never)
    # agent 0 got a reward: its cue trace is cleared; agent 1 keeps a decayed trace
    torch.testing.assert_close(state.trace, torch.tensor([[0.0, 0.0], [0.5, 0.0]]))
    features, state = encoder.encode(state, nothing, no_reward, torch.tensor([False, True]))
    torch.testing.assert_close(state.trace, torch.tensor([[0.0, 0.0], [0.0, 0.0]]))
    assert features.shape == (2, 8)
