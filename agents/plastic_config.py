"""The configuration of :class:`~plasticgym.agents.PlasticAgent`: core hyperparameters plus one
part per optional mechanism.

Parts (each a frozen spec, see :mod:`plasticgym.parts`) are chosen by one argument each::

    PlasticAgent(env, dopamine=redish(surge=0.3), scaling=SynapticScaling(target_rate=0.3),
                 habit=Habit(learning_rate=0.01), goal_directed=None, latent_causes=None)

The flat keywords of earlier versions keep working and mean the same parts:
``dopamine="redish", drug_surge=0.3``, ``synaptic_scaling=False`` (alias ``homeostasis``),
``habit=True, habit_lr=0.01``, ``goal_directed=True``, ``latent_causes=2,
cause_split_threshold=0.1``. Checkpoints, sweeps and the command line store the flat form
(:meth:`PlasticAgentConfig.to_flat`), so both forms load.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

from plasticgym.config import check_bool, check_choice, check_number, check_per_agent
from plasticgym.dopamine import DOPAMINE_MODELS, TD, DopamineModel
from plasticgym.encoding import check_box_edges
from plasticgym.habits import GoalDirected, Habit
from plasticgym.latent_causes import CauseInference
from plasticgym.maps import TopographicMap
from plasticgym.parts import Part
from plasticgym.plasticity import SynapticScaling
from plasticgym.population import Distribution
from plasticgym.structure import StructuralPlasticity
from plasticgym.synapses import SYNAPSE_MODELS, SynapseModel, ThreeFactor
from plasticgym.systems import ComplementaryLearning

ACTOR_POST = ("chosen", "centered", "rate")

_CORE_LIMITS: dict[str, dict[str, Any]] = {
    "gamma": {"low": 0.0, "high": 1.0, "high_open": True},
    "trace_lambda": {"low": 0.0, "high": 1.0},
    "critic_lr": {"low": 0.0, "low_open": True},
    "actor_lr": {"low": 0.0},
    "inverse_temperature": {"low": 0.0},
    "dopamine_gain_positive": {"low": 0.0},
    "dopamine_gain_negative": {"low": 0.0},
    "tonic_input": {"low": 0.0},
    "dopamine_tonic": {},
    "exploration_noise": {"low": 0.0},
}
"""Allowed ranges of the per-agent core hyperparameters."""


@dataclass(frozen=True)
class PlasticAgentConfig:
    """Hyperparameters of :class:`~plasticgym.agents.PlasticAgent`; validated on construction.

    Core attributes (those in ``PER_AGENT`` may also be one number per agent, or a
    :class:`~plasticgym.population.Distribution`: individual differences):
        gamma: discount factor of the TD error, in [0, 1).
        trace_lambda: eligibility traces decay by ``gamma * trace_lambda`` per step, in [0, 1].
        critic_lr: learning rate of the critic's synapses, > 0.
        actor_lr: learning rate of the actor's synapses, >= 0.
        inverse_temperature: ``beta`` of the softmax over the actor's drive, >= 0.
        inverse_temperature_schedule: None (default: ``beta`` stays ``inverse_temperature``)
            or ``(beta_final, first_episode, last_episode)``: each agent's ``beta`` rises
            linearly from ``inverse_temperature`` to ``beta_final`` (>= 0) between its
            ``first_episode``-th and ``last_episode``-th completed episode (integers,
            ``0 <= first < last``), then stays there: exploration that falls with practice
            (:func:`~plasticgym.agents.plastic_actions.annealed_inverse_temperature`).
            Discrete actions only; not applied by ``compile_step`` (``learn`` then raises).
        dopamine_gain_positive: gain on positive dopamine signals (bursts), >= 0.
        dopamine_gain_negative: gain on negative dopamine signals (dips), >= 0.
        dopamine_tonic: tonic dopamine added to every phasic signal (a dysregulation knob),
            any finite number.
        n_microstimuli: presynaptic units per stimulus channel, in [1, 1000].
        microstimulus_width: tuning width of each unit in trace height, > 0.
        stimulus_trace_decay: per-step decay of each stimulus's memory trace, in (0, 1).
        reward_resets_traces: a delivered reward ends the memory of preceding stimuli.
        box_edges: None (default: each observation space read as in
            :mod:`plasticgym.encoding`) or, for a ``Box`` observation, one sequence of
            increasing edges per element (in the observation's units): the observation is
            then read as the one-hot of its box, the combination of every element's bin (a
            conjunctive BOXES code; Michie & Chambers 1968; Barto, Sutton & Anderson 1983;
            :func:`plasticgym.encoding.box_index`).
        critic_weight_bound: critic weights stay in [-bound, bound], > 0.
        actor_weight_max: actor (excitatory) weights stay in [0, max], > 0.
        actor_init_scale: actor weights start uniform in [0, scale], in [0, actor_weight_max].
        tonic_input: constant presynaptic input of the actor (a baseline rate), >= 0.
        exploration_noise: ``sigma`` of the exploratory noise of the actor's output rates for
            Box action spaces (node perturbation), >= 0.
        actor_post: the actor's Hebbian postsynaptic factor for Discrete actions:
            ``"chosen"`` (1 for the neuron whose action was taken, 0 for the others; Barto
            1995; Suri & Schultz 1999), ``"centered"`` (``onehot(a) - pi``, the softmax
            policy gradient; Williams 1992) or ``"rate"`` (``onehot(a) * rates``, the firing
            rate of the neuron whose action was taken: a rate-based Hebbian term with the
            positive feedback synaptic scaling counters; Abbott & Nelson 2000).
        log_interval: steps between TensorBoard writes, >= 1.

    Parts (see each class for its parameters and their flat names):
        dopamine: the dopamine model, a :class:`~plasticgym.dopamine.DopamineModel`
            (:func:`~plasticgym.dopamine.td` by default, ``redish``, ``average_reward``,
            ``homeostatic`` or any registered subclass).
        synapse: the actor's synapse model, a :class:`~plasticgym.synapses.SynapseModel`:
            its Hebbian term and how dopamine converts it (:class:`ThreeFactor` by default,
            :class:`CalciumRule`, :class:`BCMRule`). The critic keeps the three-factor TD
            rule: its eligibility is the gradient of its prediction, not a pre x post term.
        scaling: homeostatic synaptic scaling of the actor's synapses,
            :class:`~plasticgym.plasticity.SynapticScaling` (default) or None.
        habit: the value-free habit pathway, :class:`~plasticgym.habits.Habit` or None.
        goal_directed: goal-directed evaluation, :class:`~plasticgym.habits.GoalDirected` or
            None.
        latent_causes: latent-cause inference,
            :class:`~plasticgym.latent_causes.CauseInference` or None (one world).
        topographic_map: a neuromodulated topographic front end for one stimulus channel,
            :class:`~plasticgym.maps.TopographicMap` or None (every channel keeps its
            microstimuli).
        systems: complementary learning systems, a fast learner beside the actor with replay
            into it during rest, :class:`~plasticgym.systems.ComplementaryLearning` or None.
        structure: structural plasticity of the actor's synapses (spines that form and are
            eliminated), :class:`~plasticgym.structure.StructuralPlasticity` or None (default:
            every synapse exists for good).
    """

    PER_AGENT: ClassVar[tuple[str, ...]] = tuple(_CORE_LIMITS)
    PARTS: ClassVar[tuple[str, ...]] = (
        "dopamine", "synapse", "scaling", "habit", "goal_directed", "latent_causes",
        "topographic_map", "systems", "structure",
    )  # fmt: skip

    gamma: Any = 0.95
    trace_lambda: Any = 0.9
    critic_lr: Any = 0.1
    actor_lr: Any = 0.05
    inverse_temperature: Any = 5.0
    inverse_temperature_schedule: Any = None
    dopamine_gain_positive: Any = 1.0
    dopamine_gain_negative: Any = 1.0
    dopamine_tonic: Any = 0.0
    n_microstimuli: int = 40
    microstimulus_width: float = 0.02
    stimulus_trace_decay: float = 0.9
    reward_resets_traces: bool = True
    box_edges: Any = None
    critic_weight_bound: float = 10.0
    actor_weight_max: float = 2.0
    actor_init_scale: float = 0.1
    tonic_input: Any = 1.0
    exploration_noise: Any = 0.1
    actor_post: str = "chosen"
    log_interval: int = 100
    dopamine: DopamineModel = dataclasses.field(default_factory=TD)
    synapse: SynapseModel = dataclasses.field(default_factory=ThreeFactor)
    scaling: SynapticScaling | None = dataclasses.field(default_factory=SynapticScaling)
    habit: Habit | None = None
    goal_directed: GoalDirected | None = None
    latent_causes: CauseInference | None = None
    topographic_map: TopographicMap | None = None
    systems: ComplementaryLearning | None = None
    structure: StructuralPlasticity | None = None

    def __post_init__(self) -> None:
        for field, limits in _CORE_LIMITS.items():
            value = getattr(self, field)
            if not isinstance(value, Distribution):
                value = check_per_agent(field, value, check_number, **limits)
                object.__setattr__(self, field, value)
        check_number("n_microstimuli", self.n_microstimuli, 1, 1000, integer=True)
        check_number("microstimulus_width", self.microstimulus_width, 0.0, low_open=True)
        check_number("stimulus_trace_decay", self.stimulus_trace_decay, 0.0, 1.0,
                     low_open=True, high_open=True)  # fmt: skip
        check_bool("reward_resets_traces", self.reward_resets_traces)
        if self.inverse_temperature_schedule is not None:
            schedule = check_schedule(self.inverse_temperature_schedule)
            object.__setattr__(self, "inverse_temperature_schedule", schedule)
        if self.box_edges is not None:
            object.__setattr__(self, "box_edges", check_box_edges(self.box_edges))
        check_number("critic_weight_bound", self.critic_weight_bound, 0.0, low_open=True)
        check_number("actor_weight_max", self.actor_weight_max, 0.0, low_open=True)
        check_number("actor_init_scale", self.actor_init_scale, 0.0, self.actor_weight_max)
        check_choice("actor_post", self.actor_post, ACTOR_POST)
        check_number("log_interval", self.log_interval, 1, integer=True)
        for name, (cls, optional) in _PART_SLOTS.items():
            value = getattr(self, name)
            if not (isinstance(value, cls) or (optional and value is None)):
                allowed = f"a {cls.__name__}" + (" or None" if optional else "")
                raise ValueError(f"{name}={value!r} is invalid: must be {allowed}")
        if self.structure is not None and self.structure.new_weight > self.actor_weight_max:
            raise ValueError(
                f"structure_new_weight={self.structure.new_weight!r} is invalid: a new spine's "
                f"weight must be inside the actor's bounds [0, actor_weight_max="
                f"{self.actor_weight_max!r}]"
            )
        if self.latent_causes is not None and self.goal_directed is not None:
            raise ValueError(
                f"latent_causes={self.latent_causes.max_causes} needs goal_directed=False: the "
                "goal-directed values read the critic's synapses of each stimulus channel, "
                "which latent causes split by cause; use latent_causes=1 or goal_directed=False"
            )
        if self.topographic_map is not None and (self.goal_directed or self.latent_causes):
            raise ValueError(
                "topographic_map needs goal_directed=False and latent_causes=1: goal-directed "
                "values read the critic's synapses per microstimulus channel and latent causes "
                "copy them by cause, which the map's units do not follow"
            )
        if self.structure is not None and (self.systems or self.latent_causes):
            raise ValueError(
                "structure needs systems=None and latent_causes=1: replay during rest and a "
                "new cause's copied synapses would write weights into slots that hold no "
                "spine; use structural plasticity without them"
            )
        if self.latent_causes is not None and self.systems is not None:
            raise ValueError(
                f"latent_causes={self.latent_causes.max_causes} needs systems=None: the fast "
                "learner's store is not split by cause; use latent_causes=1 or systems=None"
            )

    def parts(self) -> dict[str, Part]:
        """The parts in use, by slot."""
        return {name: getattr(self, name) for name in self.PARTS if getattr(self, name)}

    def per_agent_values(self) -> dict[str, Any]:
        """Every parameter that may differ between agents, by flat name: the core ones and
        those of the parts in use."""
        values = {name: getattr(self, name) for name in self.PER_AGENT}
        for part in self.parts().values():
            values.update(part.per_agent_values())
        return values

    def to_flat(self) -> dict[str, Any]:
        """The config as flat keywords (JSON-ready; :meth:`from_kwargs` reads them back)."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in self.PARTS}  # fmt: skip
        if self.inverse_temperature_schedule is None:  # (absent when off, as box_edges)
            del flat["inverse_temperature_schedule"]
        if self.box_edges is None:  # (absent when off: earlier checkpoints stay identical)
            del flat["box_edges"]
        else:
            flat["box_edges"] = [list(edges) for edges in self.box_edges]
        flat["dopamine"] = self.dopamine.KIND
        flat["synapse"] = self.synapse.KIND
        flat["synaptic_scaling"] = self.scaling is not None
        flat["habit"] = self.habit is not None
        flat["goal_directed"] = self.goal_directed is not None
        flat["latent_causes"] = 1
        if self.topographic_map is not None:  # (absent when off: earlier checkpoints match)
            flat["topographic_map"] = True
        if self.systems is not None:  # (absent when off: earlier checkpoints stay identical)
            flat["systems"] = True
        if self.structure is not None:  # (absent when off: earlier checkpoints stay identical)
            flat["structure"] = True
        for part in self.parts().values():
            fields = part.to_json()
            del fields["kind"]
            flat.update({part.flat_name(k): v for k, v in fields.items()})
        return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> PlasticAgentConfig:
        """Build a config from part objects and/or flat keywords (see the module docstring),
        rejecting unknown names with the list of known ones."""
        flat = flat_kwargs(kwargs)
        parts = {
            "dopamine": _chosen_part(flat, "dopamine", DOPAMINE_MODELS, TD.KIND),
            "synapse": _chosen_part(flat, "synapse", SYNAPSE_MODELS, ThreeFactor.KIND),
            "scaling": _switched_part(flat, "synaptic_scaling", SynapticScaling, default=True),
            "habit": _switched_part(flat, "habit", Habit),
            "goal_directed": _switched_part(flat, "goal_directed", GoalDirected),
            "latent_causes": _causes_part(flat),
            "topographic_map": _switched_part(flat, "topographic_map", TopographicMap),
            "systems": _switched_part(flat, "systems", ComplementaryLearning),
            "structure": _switched_part(flat, "structure", StructuralPlasticity),
        }
        core = {f.name for f in dataclasses.fields(cls)} - set(cls.PARTS)
        unknown = sorted(set(flat) - core)
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for PlasticAgent; known: "
                f"{sorted(known_names())}"
            )
        return cls(**flat, **parts)


def check_schedule(schedule: Any) -> tuple[float, int, int]:
    """``inverse_temperature_schedule`` as ``(beta_final, first_episode, last_episode)``;
    raises ``ValueError`` naming what was wrong."""
    allowed = ("(beta_final, first_episode, last_episode) with beta_final >= 0 and integer "
               "episodes 0 <= first_episode < last_episode")  # fmt: skip
    message = f"inverse_temperature_schedule={schedule!r} is invalid: must be {allowed}"
    if isinstance(schedule, str | bytes) or not hasattr(schedule, "__len__") or len(schedule) != 3:
        raise ValueError(message)
    beta_final, first, last = schedule
    numbers = all(isinstance(v, Real) and not isinstance(v, bool) for v in schedule)
    if not numbers or not all(math.isfinite(v) for v in schedule) or beta_final < 0:
        raise ValueError(message)
    if first != int(first) or last != int(last) or not 0 <= first < last:
        raise ValueError(message)
    return float(beta_final), int(first), int(last)


_PART_SLOTS: dict[str, tuple[type[Part], bool]] = {
    "dopamine": (DopamineModel, False),
    "synapse": (SynapseModel, False),
    "scaling": (SynapticScaling, True),
    "habit": (Habit, True),
    "goal_directed": (GoalDirected, True),
    "latent_causes": (CauseInference, True),
    "topographic_map": (TopographicMap, True),
    "systems": (ComplementaryLearning, True),
    "structure": (StructuralPlasticity, True),
}
"""Slot -> (part class, may be None)."""

_SWITCHES = {"scaling": "synaptic_scaling", "habit": "habit", "goal_directed": "goal_directed",
             "topographic_map": "topographic_map", "systems": "systems",
             "structure": "structure"}  # fmt: skip
"""The flat switch of each optional part with no parameter of its own that says it is on."""


def known_names() -> set[str]:
    """Every keyword :meth:`PlasticAgentConfig.from_kwargs` accepts."""
    names = {f.name for f in dataclasses.fields(PlasticAgentConfig)}
    names |= {"homeostasis", "synaptic_scaling"}
    names.add("synapse")
    parts = (*DOPAMINE_MODELS.values(), *SYNAPSE_MODELS.values(), SynapticScaling, Habit,
             GoalDirected, CauseInference, TopographicMap, ComplementaryLearning,
             StructuralPlasticity)  # fmt: skip
    for cls in parts:
        names |= set(cls.flat_names())
    return names


def flat_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords with every part object written as flat keywords (``habit=Habit(...)`` ->
    ``habit=True, habit_lr=...``; ``scaling=None`` -> ``synaptic_scaling=False``) and the
    alias ``homeostasis`` as ``synaptic_scaling``. Distributions inside parts stay as they are
    (the agent samples every flat distribution together)."""
    flat = dict(kwargs)
    if "homeostasis" in flat:  # the switch's earlier name
        check_bool("homeostasis", flat["homeostasis"])
        _merge(flat, "synaptic_scaling", flat.pop("homeostasis"), "homeostasis")
    for slot in PlasticAgentConfig.PARTS:
        value = flat.get(slot)
        if slot == "scaling" and slot in flat and not isinstance(value, SynapticScaling | None):
            raise ValueError(f"scaling={value!r} is invalid: must be a SynapticScaling or None")
        if not isinstance(value, Part) and not (value is None and slot in flat):
            continue
        del flat[slot]
        if value is None:
            _merge(flat, _SWITCHES.get(slot, slot), 1 if slot == "latent_causes" else False, slot)
            continue
        if slot in ("dopamine", "synapse"):
            flat[slot] = value.KIND
        elif slot in _SWITCHES:
            _merge(flat, _SWITCHES[slot], True, slot)
        for field in dataclasses.fields(value):
            _merge(flat, value.flat_name(field.name), getattr(value, field.name), slot)
    return flat


def _merge(flat: dict[str, Any], name: str, value: Any, given_as: str) -> None:
    if name in flat and flat[name] is not value and flat[name] != value:
        raise ValueError(
            f"{name}={flat[name]!r} disagrees with {given_as}= ({name}={value!r}): give each "
            "parameter once, inside its part or as a flat keyword"
        )
    flat[name] = value


def _pop_flat(flat: dict[str, Any], cls: type[Part]) -> dict[str, Any]:
    """Remove and return the flat keywords of ``cls``'s fields."""
    return {name: flat.pop(name) for name in cls.flat_names() if name in flat}


def _chosen_part(
    flat: dict[str, Any], switch: str, models: Mapping[str, type[Part]], default: str
) -> Part:
    """The model named by the flat ``switch`` (e.g. ``dopamine="redish"``) with its flat
    parameters; the parameters of the models not chosen are validated and dropped (they had
    no effect in earlier versions either)."""
    kind = flat.pop(switch, default)
    check_choice(switch, kind, list(models))
    given = {name: _pop_flat(flat, model) for name, model in models.items()}
    for name, params in given.items():
        if name != kind:
            models[name].from_flat(params)
    return models[kind].from_flat(given[kind])


def _switched_part(
    flat: dict[str, Any], switch: str, cls: type[Part], default: bool = False
) -> Part | None:
    """The part switched on by the flat ``switch=True``, with its flat parameters (validated
    and dropped when it is off)."""
    on = flat.pop(switch, default)
    check_bool(switch, on)
    part = cls.from_flat(_pop_flat(flat, cls))
    return part if on else None


def _causes_part(flat: dict[str, Any]) -> CauseInference | None:
    """Latent causes from the flat count ``latent_causes`` (1: none) and ``cause_*``."""
    count = flat.get("latent_causes", 1)
    check_number("latent_causes", count, 1, 16, integer=True)
    params = _pop_flat(flat, CauseInference)
    part = CauseInference.from_flat({**params, "latent_causes": max(count, 2)})
    return part if count > 1 else None


__all__ = ["ACTOR_POST", "PlasticAgentConfig", "flat_kwargs", "known_names"]
