"""From observations to presynaptic activity.

An observation is read as a set of stimulus channels (a ``Box`` of non-negative intensities, a
one-hot ``Discrete`` state, or ``MultiBinary`` flags). Each channel drives a memory trace and a
bank of microstimuli (:mod:`plasticgym.traces`), which is the presynaptic activity the synapses
see: a temporal code of what was observed and when.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.traces import microstimuli, stimulus_trace


def n_channels(space: gym.Space) -> int:
    """Number of stimulus channels an observation space provides."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.MultiBinary):
        return int(np.prod(space.shape))
    if isinstance(space, gym.spaces.Box):
        if np.any(space.low < 0) or not np.all(np.isfinite(space.high)):
            raise ValueError(
                f"observation space {space} is not supported: a Box must hold bounded, "
                "non-negative stimulus intensities (low >= 0, finite high)"
            )
        return int(np.prod(space.shape))
    raise ValueError(
        f"observation space {space} is not supported: use Box (non-negative), Discrete or "
        "MultiBinary"
    )


class ObservationReader:
    """Batched observations ``[B, *shape]`` as stimulus channels ``[B, n_channels]`` in [0, 1].

    A Discrete observation becomes a one-hot vector; a Box is scaled by its bounds,
    ``(obs - low) / (high - low)``; MultiBinary flags are used as they are. Non-finite values
    raise ``ValueError``.
    """

    def __init__(self, space: gym.Space, device: torch.device) -> None:
        self.space = space
        self.device = device
        self.n_channels = n_channels(space)
        self._low = self._scale = None
        if isinstance(space, gym.spaces.Box):
            low = torch.as_tensor(space.low, dtype=torch.float32, device=device).flatten()
            high = torch.as_tensor(space.high, dtype=torch.float32, device=device).flatten()
            self._low, self._scale = low, 1.0 / torch.clamp(high - low, min=1e-12)

    def __call__(self, obs: np.ndarray) -> Tensor:
        if isinstance(self.space, gym.spaces.Discrete):
            index = np.asarray(obs, dtype=np.int64) - int(self.space.start)
            index_t = torch.as_tensor(index, device=self.device)
            return torch.nn.functional.one_hot(index_t, self.n_channels).to(torch.float32)
        array = np.asarray(obs, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("observation contains NaN or Inf; stimulus channels must be finite")
        flat = torch.as_tensor(array, device=self.device).flatten(1)
        if self._low is not None:
            flat = ((flat - self._low) * self._scale).clamp(0.0, 1.0)
        return flat


class EncoderState(NamedTuple):
    """Memory traces of every stimulus channel, ``[B, n_channels]``."""

    trace: Tensor


class MicrostimulusEncoder:
    """Presynaptic temporal code: a decaying trace per channel read out by microstimuli.

    Features per channel: ``n_microstimuli`` units with centres evenly spaced in trace height
    from 1 down to ``min_center`` (Ludvig, Sutton & Kehoe 2008). With ``reward_resets_traces``,
    a delivered reward ends the memory of the cues that preceded it, as trial-based TD models
    of dopamine assume when the cue's representation ends with the trial (Montague, Dayan &
    Sejnowski 1996; Schultz, Dayan & Montague 1997); without it, the cue's trace outlives the
    reward and the critic has to cancel it.

    Args:
        n_channels: stimulus channels in the observation.
        n_microstimuli: units per channel.
        width: tuning width (in trace height) of each unit.
        trace_decay: per-step decay of the memory trace, ``tau = -1 / ln(decay)`` steps.
        reward_resets_traces: clear all traces when a reward arrives.
        min_center: centre of the latest-peaking unit.
    """

    def __init__(
        self,
        n_channels: int,
        n_microstimuli: int,
        width: float,
        trace_decay: float,
        reward_resets_traces: bool,
        min_center: float = 0.05,
    ) -> None:
        self.n_channels = n_channels
        self.n_microstimuli = n_microstimuli
        self.width = width
        self.trace_decay = trace_decay
        self.reward_resets_traces = reward_resets_traces
        self.min_center = min_center
        self._centers: dict[torch.device, Tensor] = {}

    def centers(self, device: torch.device) -> Tensor:
        """Trace heights at which the units peak, from 1 down to ``min_center``."""
        if device not in self._centers:
            self._centers[device] = torch.linspace(
                1.0, self.min_center, self.n_microstimuli, device=device
            )
        return self._centers[device]

    @property
    def n_features(self) -> int:
        return self.n_channels * self.n_microstimuli

    def init(self, n_agents: int, device: torch.device) -> EncoderState:
        return EncoderState(trace=torch.zeros(n_agents, self.n_channels, device=device))

    def encode(
        self, state: EncoderState, channels: Tensor, reward: Tensor, episode_start: Tensor
    ) -> tuple[Tensor, EncoderState]:
        """Advance the traces by one observation and return the features ``[B, n_features]``.

        Args:
            state: traces before this observation.
            channels: stimulus channels of this observation, ``[B, n_channels]``.
            reward: reward that arrived with it, ``[B]``.
            episode_start: ``[B]`` bool, True where this observation starts an episode.
        """
        keep = ~episode_start
        if self.reward_resets_traces:
            keep = keep & (reward == 0)
        trace_tm1 = state.trace * keep.unsqueeze(-1)
        trace = stimulus_trace(trace_tm1.unsqueeze(-1), channels, self.trace_decay).squeeze(-1)
        features = microstimuli(trace, self.centers(trace.device), self.width).flatten(1)
        return features, EncoderState(trace)
