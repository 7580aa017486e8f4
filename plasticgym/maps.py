"""A topographic sensory map whose plasticity is gated by a neuromodulator (acetylcholine from
the nucleus basalis, or dopamine), with a slower homeostatic return to its set point.

A 1-D stimulus dimension ``s`` in [0, 1] (tone frequency on a log axis) drives ``n_inputs``
thalamic channels with Gaussian tuning; ``n_units`` cortical units read them through weights
``W [B, n_units, n_inputs]`` (rows on the simplex: divisive normalisation), compete softly and
share their activity with their map neighbours. One step, for agent ``b`` (``B`` agents)::

    x_i      = exp(-(s - c_i)^2 / (2 sigma_in^2)),     x^ = x / sum_i x_i       thalamus
    u_j      = W_j . x^                                                         drive
    a        = softmax(beta u);  y = G a / max_k (G a)_k,  G_jk = exp(-(j-k)^2 / (2 sigma_nb^2))
    dW_j     = eta m_t y_j (x^ - W_j)                   three-factor instar (Hebbian x modulator)
    W       <- W + dW + rho (W0 - W)                    homeostatic renormalisation (slow)

``W0`` is the map before any learning: unit ``j`` tuned to ``p_j = j / (n_units - 1)`` with
width ``tuning_width``. The modulator ``m_t`` is the nucleus-basalis pulse the task delivers
with the current stimulus (``modulator="stimulation"``: ``info["stimulation"]``, paired with
the unit activity of the same step) or the agent's positive dopamine ``[DA_t]+``
(``modulator="dopamine"``: it rewards the activity of the previous step, whose outcome it
reports, like the actor's eligibility). Without a modulator nothing is learned
(``dW = 0``); ``rho`` pulls every unit back to its set-point tuning on a slower timescale
(``1 / rho`` steps), so an expansion lasts only while pairing continues.

The instar rule keeps every row of ``W`` on the simplex when ``x^`` is (``sum_i dW_ji = 0``),
the normalisation of Hebbian learning that keeps it competitive (von der Malsburg 1973;
Rumelhart & Zipser 1985); the neighbourhood makes the map topographic (Kohonen 1982).
Expansion: units near a paired stimulus move their weights toward it, so more units have their
best frequency there (Kilgard & Merzenich 1998).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from plasticgym.config import check_choice
from plasticgym.parts import Part
from plasticgym.rules import Scalar, per_agent

MODULATORS = ("stimulation", "dopamine")
"""What gates the map's plasticity (see the module docstring)."""

STIMULATION_KEY = "stimulation"
"""The info key of the nucleus-basalis pulse (``plasticgym/ToneDiscrimination-v0`` has it)."""


class MapState(NamedTuple):
    """State of a topographic map: ``weights [B, n_units, n_inputs]`` and the activity of the
    last stimulus, ``response [B, n_units]`` (``y``) and ``thalamus [B, n_inputs]`` (``x^``),
    which dopamine arriving at the next step credits."""

    weights: Tensor
    response: Tensor
    thalamus: Tensor


def thalamic_input(s: Tensor, centers: Tensor, width: float) -> Tensor:
    """Normalised thalamic activity ``x^ = x / sum_i x_i`` with Gaussian tuning
    ``x_i = exp(-(s - c_i)^2 / (2 width^2))`` (a population code of ``s``).

    Shapes: ``s [B]``, ``centers [n_inputs]``; returns ``[B, n_inputs]`` (rows sum to 1)."""
    x = torch.exp(-((s.unsqueeze(-1) - centers) ** 2) / (2.0 * width**2))
    return x / x.sum(dim=-1, keepdim=True).clamp(min=1e-30)


def set_point_weights(n_units: int, centers: Tensor, width: float) -> Tensor:
    """The map before learning, ``W0 [n_units, n_inputs]``: unit ``j`` tuned to
    ``p_j = j / (n_units - 1)`` with Gaussian weights of width ``width`` over the thalamic
    centres, each row normalised to sum 1 (a uniform, ordered tonotopy)."""
    positions = torch.linspace(0.0, 1.0, n_units, device=centers.device)
    w = torch.exp(-((positions.unsqueeze(-1) - centers) ** 2) / (2.0 * width**2))
    return w / w.sum(dim=-1, keepdim=True)


def neighbourhood(n_units: int, width: float, device: torch.device | str = "cpu") -> Tensor:
    """Lateral interaction kernel over map positions ``G_jk = exp(-(j - k)^2 / (2 width^2))``
    (Kohonen 1982), ``[n_units, n_units]``."""
    index = torch.arange(n_units, dtype=torch.float32, device=device)
    return torch.exp(-((index.unsqueeze(-1) - index) ** 2) / (2.0 * width**2))


def map_response(weights: Tensor, thalamus: Tensor, competition: Scalar, kernel: Tensor) -> Tensor:
    """Soft-competitive response of the map: ``u = W x^``, ``a = softmax(beta u)``,
    ``y = G a / max_k (G a)_k`` (the most active unit at 1).

    Shapes: ``weights [B, U, I]``, ``thalamus [B, I]``, ``competition`` float or ``[B]``,
    ``kernel [U, U]``; returns ``[B, U]`` in [0, 1]."""
    drive = torch.matmul(weights, thalamus.unsqueeze(-1)).squeeze(-1)
    beta = per_agent(competition, drive)
    winners = torch.softmax(beta * drive, dim=-1)
    spread = winners @ kernel
    return spread / spread.amax(dim=-1, keepdim=True).clamp(min=1e-30)


def modulated_instar_dw(
    weights: Tensor, response: Tensor, thalamus: Tensor, modulator: Tensor, learning_rate: Scalar
) -> Tensor:
    """Three-factor instar rule ``dW_j = eta m y_j (x^ - W_j)``: the Hebbian product
    ``y_j x^_i`` minus a postsynaptically gated decay ``y_j W_ji`` (Grossberg 1976; Rumelhart &
    Zipser 1985), converted into a weight change only by the neuromodulator ``m``.

    Shapes: ``weights [B, U, I]``, ``response [B, U]``, ``thalamus [B, I]``, ``modulator [B]``,
    ``learning_rate`` float or ``[B]``; returns ``[B, U, I]`` (rows sum to 0)."""
    gain = per_agent(learning_rate, modulator) * modulator
    post = (gain.unsqueeze(-1) * response).unsqueeze(-1)
    return post * (thalamus.unsqueeze(1) - weights)


def renormalise(weights: Tensor, set_point: Tensor, rate: Scalar) -> Tensor:
    """Homeostatic return of each unit's tuning to its set point,
    ``W <- W + rho (W0 - W)`` (a slow relaxation with time constant ``1 / rho`` steps).

    Shapes: ``weights [B, U, I]``, ``set_point [U, I]``, ``rate`` float or ``[B]``."""
    return weights + per_agent(rate, weights) * (set_point - weights)


def map_plasticity_step(
    weights: Tensor,
    response: Tensor,
    thalamus: Tensor,
    modulator: Tensor,
    learning_rate: Scalar,
    set_point: Tensor,
    rate: Scalar,
) -> Tensor:
    """One step of the map's plasticity, ``W' = W + dW + rho (W0 - W)`` with ``dW`` from
    :func:`modulated_instar_dw` and the return of :func:`renormalise`, both computed from the
    same ``W``. A map at its set point with no modulator stays there exactly.

    Shapes as in the two functions; returns ``[B, U, I]``."""
    dw = modulated_instar_dw(weights, response, thalamus, modulator, learning_rate)
    return weights + dw + per_agent(rate, weights) * (set_point - weights)


def best_frequencies(weights: Tensor, centers: Tensor, width: float, n_probe: int = 201) -> Tensor:
    """Each unit's best frequency: the probe stimulus ``s`` in ``linspace(0, 1, n_probe)`` that
    drives it most (``argmax_s W_j . x^(s)``), as electrophysiologists map a cortex with tones.

    Shapes: ``weights [B, U, I]``; returns ``[B, U]``."""
    probes = torch.linspace(0.0, 1.0, n_probe, device=weights.device)
    thalamus = thalamic_input(probes, centers, width)  # [n_probe, I]
    drive = torch.matmul(weights, thalamus.T)  # [B, U, n_probe]
    return probes[drive.argmax(dim=-1)]


@dataclasses.dataclass(frozen=True)
class TopographicMap(Part):
    """A topographic front end for one stimulus channel (see the module docstring).

    The agent replaces the temporal code of observation channel ``channel`` by the map's
    responses ``y`` (``n_units`` presynaptic inputs of the actor and the critic, with no
    memory trace); the other channels keep their microstimuli.

    Attributes:
        channel: the observation channel (in [0, 1]) that carries the stimulus dimension.
        n_units: cortical units of the map, in [2, 1000].
        n_inputs: thalamic channels tiling [0, 1], in [2, 1000].
        input_width: tuning width ``sigma_in`` of the thalamic channels, > 0.
        tuning_width: width of the set-point tuning of each unit, > 0.
        competition: ``beta`` of the soft competition, >= 0 (per agent).
        neighbourhood: ``sigma_nb``, the lateral spread in map units, > 0.
        learning_rate: ``eta``, >= 0 (per agent).
        renormalisation_rate: ``rho``, in [0, 1] (per agent).
        modulator: ``"stimulation"`` (the task's ``info["stimulation"]``) or ``"dopamine"``.
    """

    KIND: ClassVar[str] = "map"
    LIMITS: ClassVar[dict[str, dict[str, Any]]] = {
        "channel": {"low": 0, "integer": True},
        "n_units": {"low": 2, "high": 1000, "integer": True},
        "n_inputs": {"low": 2, "high": 1000, "integer": True},
        "input_width": {"low": 0.0, "low_open": True},
        "tuning_width": {"low": 0.0, "low_open": True},
        "competition": {"low": 0.0},
        "neighbourhood": {"low": 0.0, "low_open": True},
        "learning_rate": {"low": 0.0},
        "renormalisation_rate": {"low": 0.0, "high": 1.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = ("competition", "learning_rate", "renormalisation_rate")

    channel: int = 0
    n_units: int = 40
    n_inputs: int = 40
    input_width: float = 0.05
    tuning_width: float = 0.05
    competition: Any = 50.0
    neighbourhood: float = 3.0
    learning_rate: Any = 0.1
    renormalisation_rate: Any = 0.002
    modulator: str = "stimulation"

    def check(self) -> None:
        try:
            check_choice("modulator", self.modulator, MODULATORS)
        except ValueError as error:
            raise ValueError(f"TopographicMap.{error}") from None

    @property
    def events(self) -> tuple[str, ...]:
        """The info keys the map reads."""
        return (STIMULATION_KEY,) if self.modulator == "stimulation" else ()

    def centers(self, device: torch.device | str) -> Tensor:
        """Preferred stimuli of the thalamic channels, ``linspace(0, 1, n_inputs)``."""
        return torch.linspace(0.0, 1.0, self.n_inputs, device=device)

    def set_point(self, device: torch.device | str) -> Tensor:
        """``W0 [n_units, n_inputs]`` (:func:`set_point_weights`)."""
        return set_point_weights(self.n_units, self.centers(device), self.tuning_width)

    def init(self, n_agents: int, device: torch.device | str) -> MapState:
        """Every agent's map at its set point, no activity yet."""
        weights = self.set_point(device).expand(n_agents, -1, -1).clone()
        return MapState(weights, torch.zeros(n_agents, self.n_units, device=device),
                        torch.zeros(n_agents, self.n_inputs, device=device))  # fmt: skip

    def respond(self, state: MapState, channels: Tensor, kernel: Tensor) -> tuple[Tensor, Tensor]:
        """The map's response ``y [B, n_units]`` to the stimulus in ``channels [B, C]`` and its
        thalamic activity ``x^ [B, n_inputs]``."""
        if channels.shape[1] <= self.channel:
            raise ValueError(
                f"TopographicMap.channel={self.channel} but the observation has "
                f"{channels.shape[1]} channel(s): choose one in [0, {channels.shape[1] - 1}]"
            )
        stimulus = channels[:, self.channel]
        thalamus = thalamic_input(stimulus, self.centers(channels.device), self.input_width)
        return map_response(state.weights, thalamus, self.competition, kernel), thalamus

    def learn(
        self,
        state: MapState,
        response: Tensor,
        thalamus: Tensor,
        modulator: Tensor,
        set_point: Tensor,
        active: Tensor,
    ) -> MapState:
        """One step of plasticity and renormalisation (:func:`map_plasticity_step`), then
        remember this step's activity.

        ``response``/``thalamus`` are this step's activity; the modulator ``[B]`` multiplies
        this step's Hebbian term (``"stimulation"``) or the previous step's (``"dopamine"``).
        Inactive agents (``active [B]`` False) keep their weights."""
        if self.modulator == "dopamine":
            post, pre = state.response, state.thalamus
        else:
            post, pre = response, thalamus
        weights = map_plasticity_step(state.weights, post, pre, modulator, self.learning_rate,
                                      set_point, self.renormalisation_rate)  # fmt: skip
        if not (active.device.type == "cpu" and bool(active.all())):  # (skip the select)
            weights = torch.where(active.view(-1, 1, 1), weights, state.weights)
        return MapState(weights, response, thalamus)


__all__ = [
    "MODULATORS",
    "STIMULATION_KEY",
    "MapState",
    "TopographicMap",
    "best_frequencies",
    "map_plasticity_step",
    "map_response",
    "modulated_instar_dw",
    "neighbourhood",
    "renormalise",
    "set_point_weights",
    "thalamic_input",
]
