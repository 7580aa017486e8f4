"""From observations to presynaptic activity.

An observation is read as a set of stimulus channels in [0, 1] (:class:`ObservationReader`);
each channel drives a memory trace and a bank of microstimuli (:mod:`plasticgym.traces`),
which is the presynaptic activity the synapses see: a temporal code of what was observed and
when (:class:`MicrostimulusEncoder`).

Channels of each kind of observation space (``B`` agents, ``o`` the observation):

- ``Discrete(n)``: one-hot, ``n`` channels.
- ``MultiDiscrete(nvec)``: one one-hot block per element, ``sum(nvec)`` channels.
- ``MultiBinary``: the flags as they are.
- ``Box`` with finite bounds and ``low >= 0`` (stimulus intensities): scaled by its bounds,
  ``c = clip((o - low) / (high - low), 0, 1)``, one channel per element.
- Any other ``Box`` (negative or infinite bounds: signed variables such as positions and
  velocities): a population code of rectified on/off pairs after a running normalisation,
  two channels per element. Each agent keeps running moments of every element over the
  observations it learned from (Welford 1962; one update per agent per step, in float64)::

      n_t = n_tm1 + 1;   d = o_t - mu_tm1;   mu_t = mu_tm1 + d / n_t
      M_t = M_tm1 + d * (o_t - mu_t);        sigma_t^2 = M_t / n_t
      z_t = clip((o_t - mu_t) / sqrt(sigma_t^2 + eps), -z_max, z_max)   (z_max = 3)
      on_t = [z_t]+ / z_max,   off_t = [-z_t]+ / z_max

  like ON and OFF cells, one of the pair fires in proportion to how far the variable is above
  or below its usual value (in standard deviations), the other is silent. The microstimuli of
  each channel then tile its intensity with Gaussian receptive fields (a unit responds when the
  channel's trace is near its centre), so the actor and critic see a place code of each signed
  variable. The moments are explicit state (:class:`ObservationStats`), checkpointed with the
  agent; ``predict`` reads them without updating them.
- ``Dict`` and ``Tuple``: the channels of their sub-spaces, concatenated in the space's order
  (any nesting; the signed Box elements of all sub-spaces share one :class:`ObservationStats`).

Other spaces (``Text``, ``Graph``, ``Sequence`` ...) raise ``ValueError``.

Optionally (``box_edges``, off by default) a ``Box`` observation is read instead as a
conjunctive **box code**: each element is binned by its own edges (in the observation's units)
and the observation becomes the one-hot of the box, the combination of the elements' bins
(the BOXES of Michie & Chambers 1968, as Barto, Sutton & Anderson 1983 used for cart-pole;
:func:`box_index`). Unlike the additive on/off code it lets the synapses give every
combination of the variables its own value and action preferences.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.traces import microstimuli, stimulus_trace

Z_MAX = 3.0
"""Normalised values are clipped to ``[-Z_MAX, Z_MAX]`` standard deviations."""

NORM_EPS = 1e-8
"""Added to the running variance before the square root."""

_ALLOWED = "Box, Discrete, MultiDiscrete, MultiBinary, or a Dict/Tuple of them"


MAX_BOXES = 1_000_000
"""A box code may have at most this many boxes (the product of the bins of every element)."""


def check_box_edges(box_edges: Any) -> tuple[tuple[float, ...], ...]:
    """``box_edges`` as a tuple (one per observation element) of strictly increasing finite
    edges; raises ``ValueError`` naming what was wrong."""
    allowed = "a sequence with one sequence of strictly increasing finite edges per element"
    if isinstance(box_edges, str | bytes) or not hasattr(box_edges, "__iter__"):
        raise ValueError(f"box_edges={box_edges!r} is invalid: must be {allowed}")
    edges = []
    for d, element in enumerate(box_edges):
        try:
            values = np.asarray(element, dtype=np.float64)
        except (TypeError, ValueError):
            values = np.asarray([np.nan])
        ok = values.ndim == 1 and values.size >= 1 and bool(np.isfinite(values).all())
        if not ok or not bool(np.all(np.diff(values) > 0)):
            raise ValueError(f"box_edges[{d}]={element!r} is invalid: box_edges must be {allowed}")
        edges.append(tuple(float(v) for v in values))
    if not edges:
        raise ValueError(f"box_edges={box_edges!r} is invalid: must be {allowed}")
    n_boxes = int(np.prod([len(e) + 1 for e in edges], dtype=np.float64))
    if n_boxes > MAX_BOXES:
        raise ValueError(
            f"box_edges give {n_boxes} boxes (the product of len(edges) + 1 over the "
            f"elements); at most {MAX_BOXES} are allowed"
        )
    return tuple(edges)


def box_index(x_t: Tensor, edges: list[Tensor]) -> Tensor:
    """The box of each observation, ``[B]`` (Michie & Chambers 1968; Barto, Sutton & Anderson
    1983): element ``d`` falls in bin ``k_d = #{j : edge_dj <= o_d}`` of ``K_d = len(edges_d) +
    1`` bins, and the box is the mixed-radix number ``k = ((k_0 K_1 + k_1) K_2 + k_2) ...``.

    Shapes: ``x_t [B, D]``, ``edges`` D tensors of increasing edges."""
    index = torch.zeros(x_t.shape[0], dtype=torch.long, device=x_t.device)
    for d, edges_d in enumerate(edges):
        bins = torch.bucketize(x_t[:, d].contiguous(), edges_d, right=True)
        index = index * (edges_d.numel() + 1) + bins
    return index


def is_intensity_box(space: gym.Space) -> bool:
    """A Box of bounded, non-negative stimulus intensities (read by its bounds)."""
    return (
        isinstance(space, gym.spaces.Box)
        and bool(np.all(space.low >= 0))
        and bool(np.all(np.isfinite(space.high)))
    )


class _Leaf(NamedTuple):
    """One non-composite sub-space: where it sits in the observation and how it is read."""

    path: tuple[Any, ...]  # keys / indices from the observation to this sub-space
    kind: str  # "discrete", "multidiscrete", "binary", "box", "signed" or "boxes"
    space: gym.Space
    n_channels: int


def _leaves(space: gym.Space, path: tuple[Any, ...] = ()) -> list[_Leaf]:
    if isinstance(space, gym.spaces.Dict):
        return [leaf for key, sub in space.spaces.items() for leaf in _leaves(sub, (*path, key))]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for i, sub in enumerate(space.spaces) for leaf in _leaves(sub, (*path, i))]
    if isinstance(space, gym.spaces.Discrete):
        return [_Leaf(path, "discrete", space, int(space.n))]
    if isinstance(space, gym.spaces.MultiDiscrete):
        return [_Leaf(path, "multidiscrete", space, int(np.sum(space.nvec)))]
    if isinstance(space, gym.spaces.MultiBinary):
        return [_Leaf(path, "binary", space, int(np.prod(space.shape)))]
    if isinstance(space, gym.spaces.Box):
        size = int(np.prod(space.shape))
        if is_intensity_box(space):
            return [_Leaf(path, "box", space, size)]
        return [_Leaf(path, "signed", space, 2 * size)]
    where = f" (at {list(path)})" if path else ""
    raise ValueError(
        f"observation space {space}{where} is not supported: PlasticAgent reads {_ALLOWED}"
    )


def n_channels(space: gym.Space) -> int:
    """Number of stimulus channels an observation space provides (see the module docstring)."""
    return sum(leaf.n_channels for leaf in _leaves(space))


class ObservationStats(NamedTuple):
    """Running moments of the signed Box elements of every agent (Welford), float64.

    ``count [B]`` observations seen, ``mean [B, D]``, ``m2 [B, D]`` sum of squared deviations.
    """

    count: Tensor
    mean: Tensor
    m2: Tensor


def welford_update(stats: ObservationStats, x_t: Tensor) -> ObservationStats:
    """One Welford (1962) step per agent: ``x_t [B, D]`` joins the moments."""
    count = stats.count + 1.0
    delta = x_t - stats.mean
    mean = stats.mean + delta / count.unsqueeze(-1)
    m2 = stats.m2 + delta * (x_t - mean)
    return ObservationStats(count, mean, m2)


def on_off_channels(x_t: Tensor, stats: ObservationStats) -> Tensor:
    """Rectified on/off pairs of the normalised values, ``[B, 2 D]`` in [0, 1]: element ``d``
    gives channels ``2d`` (on, above its mean) and ``2d + 1`` (off, below)."""
    variance = stats.m2 / stats.count.clamp(min=1.0).unsqueeze(-1)
    z = ((x_t - stats.mean) / torch.sqrt(variance + NORM_EPS)).clamp(-Z_MAX, Z_MAX)
    pairs = torch.stack([torch.relu(z), torch.relu(-z)], dim=-1) / Z_MAX
    return pairs.flatten(1).to(torch.float32)


class ObservationReader:
    """Batched observations ``[B, *shape]`` as stimulus channels ``[B, n_channels]`` in [0, 1]
    (the encodings of the module docstring). Non-finite values raise ``ValueError``.

    Call as ``channels, stats = reader(obs, stats, update=...)``: ``stats`` is the running
    normalisation of the signed Box elements (from :meth:`init`; None when the space has
    none), advanced by the observation when ``update`` is True.

    With ``box_edges`` (see :func:`check_box_edges`) the space must be a ``Box`` with one
    sequence of edges per element, and its observations are read as the one-hot of their box
    (:func:`box_index`; no running normalisation).
    """

    def __init__(self, space: gym.Space, device: torch.device, box_edges: Any = None) -> None:
        self.space = space
        self.device = device
        self._box_edges: list[Tensor] = []
        if box_edges is None:
            self.leaves = _leaves(space)
        else:
            self.leaves = [self._box_leaf(space, check_box_edges(box_edges))]
        self.n_channels = sum(leaf.n_channels for leaf in self.leaves)
        self.n_signed = sum(leaf.n_channels // 2 for leaf in self.leaves if leaf.kind == "signed")
        self._bounds: dict[int, tuple[Tensor, Tensor]] = {}  # Box leaf -> (low, 1 / range)
        self._offsets: dict[int, Tensor] = {}  # MultiDiscrete leaf -> first channel - start
        self._unit_boxes: set[int] = set()  # Box leaves in [0, 1]: (x - 0) * 1 == x exactly
        for i, leaf in enumerate(self.leaves):
            if leaf.kind == "box":
                box = leaf.space
                low = torch.as_tensor(box.low, dtype=torch.float32, device=device).flatten()
                high = torch.as_tensor(box.high, dtype=torch.float32, device=device).flatten()
                self._bounds[i] = (low, 1.0 / torch.clamp(high - low, min=1e-12))
                if bool((low == 0).all()) and bool((self._bounds[i][1] == 1).all()):
                    self._unit_boxes.add(i)
            elif leaf.kind == "multidiscrete":
                md = leaf.space
                nvec = np.asarray(md.nvec, dtype=np.int64).flatten()
                offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
                start = np.asarray(getattr(md, "start", 0), dtype=np.int64) * np.ones_like(nvec)
                self._offsets[i] = torch.as_tensor(offsets - start.flatten(), device=device)

    def _box_leaf(self, space: gym.Space, edges: tuple[tuple[float, ...], ...]) -> _Leaf:
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(
                f"box_edges needs a Box observation space (one sequence of edges per element), "
                f"got {space}"
            )
        size = int(np.prod(space.shape))
        if len(edges) != size:
            raise ValueError(
                f"box_edges has {len(edges)} sequence(s) of edges, but the observation space "
                f"{space} has {size} element(s): give one sequence per element"
            )
        self._box_edges = [torch.tensor(e, dtype=torch.float64, device=self.device)
                           for e in edges]  # fmt: skip
        n_boxes = int(np.prod([len(e) + 1 for e in edges]))
        return _Leaf((), "boxes", space, n_boxes)

    def init(self, n_agents: int, device: torch.device) -> ObservationStats | None:
        """Empty running moments for ``n_agents`` agents (None when nothing is normalised)."""
        if not self.n_signed:
            return None
        zeros = torch.zeros(n_agents, self.n_signed, dtype=torch.float64, device=device)
        return ObservationStats(zeros[:, 0].clone(), zeros.clone(), zeros.clone())

    def __call__(
        self, obs: Any, stats: ObservationStats | None = None, *, update: bool = False
    ) -> tuple[Tensor, ObservationStats | None]:
        parts: list[Tensor] = []
        signed: list[Tensor] = []
        slots: list[int] = []
        for i, leaf in enumerate(self.leaves):
            part = obs
            for key in leaf.path:
                part = part[key]
            if leaf.kind == "signed":
                signed.append(self._finite(part).flatten(1).to(torch.float64))
                slots.append(len(parts))
                parts.append(None)  # type: ignore[arg-type]  (filled below)
            else:
                parts.append(self._read(i, leaf, part))
        if signed:
            if stats is None:
                raise ValueError(
                    f"observation space {self.space} has signed Box elements: reading them "
                    "needs the running normalisation (stats=reader.init(...))"
                )
            x_t = torch.cat(signed, dim=1) if len(signed) > 1 else signed[0]
            if update:
                stats = welford_update(stats, x_t)
            code = on_off_channels(x_t, stats)
            sizes = [2 * s.shape[1] for s in signed]
            for slot, block in zip(slots, torch.split(code, sizes, dim=1), strict=True):
                parts[slot] = block
        channels = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return channels, stats

    def _finite(self, part: Any) -> Tensor:
        array = np.asarray(part, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("observation contains NaN or Inf; stimulus channels must be finite")
        return torch.as_tensor(array, device=self.device)

    def _read(self, i: int, leaf: _Leaf, part: Any) -> Tensor:
        if leaf.kind == "discrete":
            index = np.asarray(part, dtype=np.int64) - int(leaf.space.start)
            index_t = torch.as_tensor(index, device=self.device)
            return torch.nn.functional.one_hot(index_t, leaf.n_channels).to(torch.float32)
        if leaf.kind == "multidiscrete":
            index = torch.as_tensor(np.asarray(part, dtype=np.int64), device=self.device)
            index = index.flatten(1) + self._offsets[i]
            channels = torch.zeros(index.shape[0], leaf.n_channels, device=self.device)
            return channels.scatter_(1, index, 1.0)
        flat = self._finite(part).flatten(1)
        if leaf.kind == "boxes":
            index = box_index(flat.to(torch.float64), self._box_edges)
            return torch.nn.functional.one_hot(index, leaf.n_channels).to(torch.float32)
        if leaf.kind == "box" and i in self._unit_boxes:
            flat = flat.clamp(0.0, 1.0)
        elif leaf.kind == "box":
            low, scale = self._bounds[i]
            flat = ((flat - low) * scale).clamp(0.0, 1.0)
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
