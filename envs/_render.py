"""Rendering shared by every plasticgym task: a small numpy image and a line of text.

A task's state, as an agent meets it, is its observation (the cues), the action just taken
(the levers) and the outcome (the reward), within a phase of the protocol. Both render modes
show exactly that, so one renderer serves every task:

- ``"rgb_array"``: a ``uint8`` image ``[FRAME_HEIGHT, FRAME_WIDTH, 3]`` drawn with numpy
  (no plotting library; well under a millisecond a frame). Top band: one cell per observation
  channel, brightness = the channel's value scaled to the space's bounds (a Discrete
  observation is shown one-hot). Middle band: one cell per action (Discrete: the chosen one
  lit; Box: each unit's value scaled to its bounds). Bottom band: the reward as a bar from the
  centre, green to the right for ``r > 0``, red to the left for ``r < 0``, length
  ``tanh(|r|)`` of the half width; under it one segment per protocol phase, the current one lit.
- ``"ansi"``: one line, e.g. ``trial 12 | phase 'reversal' (1/1) | obs [1.00] | action 1 |
  reward +1.00``.

Frames have a fixed size for a given task, so video recorders (gymnasium's ``RecordVideo``,
Stable-Baselines3's ``VecVideoRecorder``) accept them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

RENDER_MODES = ("rgb_array", "ansi")
RENDER_FPS = 4
FRAME_HEIGHT, FRAME_WIDTH = 96, 192

BACKGROUND = np.array([24, 24, 28], dtype=np.float64)
CUE_COLOUR = np.array([255, 205, 40], dtype=np.float64)
LEVER_COLOUR = np.array([70, 150, 255], dtype=np.float64)
GAIN_COLOUR = np.array([60, 210, 90], dtype=np.float64)
LOSS_COLOUR = np.array([235, 70, 60], dtype=np.float64)
PHASE_COLOUR = np.array([200, 200, 210], dtype=np.float64)
EMPTY_COLOUR = np.array([55, 55, 62], dtype=np.float64)
MARGIN = 6
CUE_ROWS, LEVER_ROWS, REWARD_ROWS, PHASE_ROWS = (6, 34), (42, 66), (72, 84), (88, 92)


def check_render_mode(render_mode: Any) -> None:
    """Raise ValueError unless ``render_mode`` is None, ``"rgb_array"`` or ``"ansi"``."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")


def space_activity(value: Any, space: spaces.Space) -> npt.NDArray[np.float64]:
    """A value of ``space`` as activities in [0, 1], one per cell ``[k]``.

    Box: ``(x - low) / (high - low)``, clipped (an unbounded side counts as ``x`` itself,
    clipped); Discrete(n): one-hot over the ``n`` values; MultiBinary: the bits.
    ``value = None`` (nothing yet) gives zeros.
    """
    if isinstance(space, spaces.Discrete):
        out = np.zeros(int(space.n))
        if value is not None:
            out[int(value) - int(space.start)] = 1.0
        return out
    if isinstance(space, spaces.Box):
        if value is None:
            return np.zeros(int(np.prod(space.shape)))
        x = np.asarray(value, dtype=np.float64).ravel()
        low, high = space.low.astype(np.float64).ravel(), space.high.astype(np.float64).ravel()
        bounded = np.isfinite(low) & np.isfinite(high) & (high > low)
        span = np.where(bounded, high - low, 1.0)
        scaled = np.where(bounded, (x - np.where(bounded, low, 0.0)) / span, x)
        return np.clip(scaled, 0.0, 1.0)
    if isinstance(space, spaces.MultiBinary):
        if value is None:
            return np.zeros(int(np.prod(space.shape)))
        return np.asarray(value, dtype=np.float64).ravel()
    raise ValueError(f"cannot render a value of {space}; allowed: Box, Discrete, MultiBinary")


def _fill_cells(
    frame: npt.NDArray[np.uint8],
    rows: tuple[int, int],
    activity: npt.NDArray[np.float64],
    colour: npt.NDArray[np.float64],
) -> None:
    """Draw ``len(activity)`` cells side by side across ``rows`` (in place), each mixing the
    empty colour and ``colour`` by its activity, with a one-pixel gap between cells."""
    k = activity.size
    if k == 0:
        return
    x = np.arange(MARGIN, FRAME_WIDTH - MARGIN)
    edges = np.linspace(MARGIN, FRAME_WIDTH - MARGIN, k + 1)
    cell = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, k - 1)
    a = activity[cell][:, None]
    colours = EMPTY_COLOUR + a * (colour - EMPTY_COLOUR)
    gap = (x - edges[cell] < 1) & (cell > 0) & (k * 2 < x.size)
    colours[gap] = BACKGROUND
    frame[rows[0] : rows[1], x] = colours.astype(np.uint8)[None, :, :]


def draw_frame(
    obs_activity: npt.NDArray[np.float64],
    action_activity: npt.NDArray[np.float64],
    reward: float,
    phase_index: int,
    n_phases: int,
) -> npt.NDArray[np.uint8]:
    """The ``rgb_array`` frame ``[FRAME_HEIGHT, FRAME_WIDTH, 3]`` (layout: module docstring)."""
    frame = np.empty((FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8)
    frame[:] = BACKGROUND.astype(np.uint8)
    _fill_cells(frame, CUE_ROWS, obs_activity, CUE_COLOUR)
    _fill_cells(frame, LEVER_ROWS, action_activity, LEVER_COLOUR)
    centre, half = FRAME_WIDTH // 2, FRAME_WIDTH // 2 - MARGIN
    top, bottom = REWARD_ROWS
    frame[top:bottom, MARGIN : FRAME_WIDTH - MARGIN] = EMPTY_COLOUR.astype(np.uint8)
    length = round(math.tanh(abs(reward)) * half) if math.isfinite(reward) else half
    if reward > 0:
        frame[top:bottom, centre : centre + length] = GAIN_COLOUR.astype(np.uint8)
    elif reward < 0:
        frame[top:bottom, centre - length : centre] = LOSS_COLOUR.astype(np.uint8)
    frame[top - 2 : bottom + 2, centre] = PHASE_COLOUR.astype(np.uint8)
    phases = np.zeros(max(n_phases, 1))
    if 0 <= phase_index < phases.size:
        phases[phase_index] = 1.0
    _fill_cells(frame, PHASE_ROWS, phases, PHASE_COLOUR)
    return frame


def _format_value(value: Any, space: spaces.Space) -> str:
    """A compact text form of an observation or action."""
    if value is None:
        return "-"
    if isinstance(space, spaces.Discrete):
        return str(int(value))
    array = np.asarray(value, dtype=np.float64).ravel()
    return "[" + " ".join(f"{v:.2f}" for v in array) + "]"


def describe(
    trial: int | None,
    phase: str | None,
    phase_index: int,
    n_phases: int,
    obs: Any,
    observation_space: spaces.Space,
    action: Any,
    action_space: spaces.Space,
    reward: float,
) -> str:
    """The ``ansi`` line (format: module docstring); before the first reset
    ``"(not reset)"``."""
    if trial is None:
        return "(not reset)"
    return (
        f"trial {trial} | phase {phase!r} ({phase_index + 1}/{n_phases}) | "
        f"obs {_format_value(obs, observation_space)} | "
        f"action {_format_value(action, action_space)} | reward {reward:+.2f}"
    )


def render_view(
    render_mode: str | None,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    phase_names: tuple[str, ...],
    view: tuple[Any, Any, float, int | None, str | None],
) -> npt.NDArray[np.uint8] | str | None:
    """Render one env's ``view = (obs, action, reward, trial, phase)`` in ``render_mode``.

    ``action`` is None before the first step of an episode; ``trial`` and ``phase`` are None
    before the first reset. ``render_mode=None`` renders nothing.
    """
    if render_mode is None:
        return None
    obs, action, reward, trial, phase = view
    phase_index = phase_names.index(phase) if phase in phase_names else -1
    if render_mode == "ansi":
        return describe(
            trial,
            phase,
            phase_index,
            len(phase_names),
            obs,
            observation_space,
            action,
            action_space,
            reward,
        )
    return draw_frame(
        space_activity(obs if trial is not None else None, observation_space),
        space_activity(action, action_space),
        reward,
        phase_index,
        len(phase_names),
    )
