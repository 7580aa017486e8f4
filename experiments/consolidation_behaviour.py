"""Consolidation of a learned choice: weak training is forgotten, strong training lasts unless
protein synthesis is blocked, and a novel dopamine-releasing event near weak training makes it
last (behavioural tagging; Frey & Morris 1997; Clopath et al. 2008; Ballarini et al. 2009;
Wang, Redondo & Morris 2010).

**Task and agents.** ``ReversalBandit-v0`` without reversals: arm 0 always pays 1, arm 1 never
(``p_high = 1, p_low = 0``). One step (trial) lasts ``dt = 30 s`` of task time. The agents are
:class:`~plasticgym.agents.PlasticAgent` actor-critics whose actor synapses are the early/late
synapse :class:`~plasticgym.synapses.TaggedSynapse` (three-factor rule -> tag-trigger-
consolidation, Clopath et al. 2008): the proposed ``lr DA e`` induces early LTP/LTD (binary,
sampled tags as in the paper, ``tau_h = 1 h``; ``sampled_tags=False``: their expected values),
protein synthesis starts when a neuron's fraction of tagged synapses exceeds
``tag_threshold`` or the task's ``novelty`` event is on, and tags capture proteins into the
bistable late weight. Each connection is ``contacts`` sampled synapses (a rate unit stands for
a population of afferents; 41 connections x 5 = 205 synapses per neuron, about the 200 of
Clopath et al.), so the trigger counts tags over many synapses as the paper's does, rather
than over the three connections the constant cue drives. Every actor weight carries the
residual weight ``w_0 = residual_weight`` (see :func:`with_residual_weight`). Individual
differences: every agent samples its actor and critic learning rates and inverse temperature
(see ``Config``), and its tags are sampled from its own random stream; scaling is off (the
delay would otherwise scale silent neurons up).

**Protocol.** Two populations, each split into groups of ``n_agents``:

- weak training (``weak_trials`` trials, 10 min): ``weak`` (nothing else), ``weak_novelty_near``
  (exposure to a novel environment for ``novelty_minutes``, starting ``near_h`` after
  training: the env's ``novelty`` phase, no cue and no reward, whose info event ``novelty``
  the synapses read as a protein-synthesis trigger), ``weak_novelty_far`` (the same exposure
  ``far_h`` after training), ``weak_novelty_near_blocked`` (the near exposure with a protein-
  synthesis blocker from the start of training to ``blocker_h`` after it: the control that
  removes the mechanism of behavioural tagging, as anisomycin does in Moncada & Viola 2007);
  and, to map the window (reported, no verdict), ``weak_novelty_<t>h``
  with the exposure ``t`` hours after training for every ``t`` in ``window_h``;
- strong training (``strong_trials`` trials, 10 min, the weak session's length, with a paying
  trial giving ``strong_reward`` = 10 instead of 1; see "Why strong is a larger reward"):
  ``strong``, ``strong_blocked`` (a protein-synthesis blocker from the start of training to
  ``blocker_h`` after it), ``strong_no_capture`` (the control that removes the mechanism:
  capture strength ``gamma = 0``);
- long training (``long_trials`` trials, 1 h, reward 1: the previous definition of strong
  training, kept as a contrast): ``long_training``.

**Why strong is a larger reward** (stated before it was run). In the literature "strong" is a
more intense stimulus in a short time, not more of the weak one: Frey & Morris 1997's strong
tetanus is 3 trains of 100 pulses at 100 Hz against a weak one of 21 pulses (about 14 times
the pulses), and behavioural tagging's strong training (Moncada & Viola 2007; Ballarini et
al. 2009) is the same single short session as weak training with a stronger unconditioned
stimulus (a stronger footshock). In this model the unconditioned stimulus reaches the
synapses through the dopamine (the reward-prediction error), which scales with the reward:
phasic dopamine responses to an unpredicted reward grow with its magnitude over a 10-fold
range of juice volumes (0.05 to 0.5 ml; Tobler, Fiorillo & Schultz 2005), and dopamine gates
protein synthesis in Ziegler et al. 2015. Strong training is therefore weak training's 20
trials with a reward ``k`` times larger, ``k = 10`` (that 10-fold range, a round number of the
order of Frey & Morris's ~14-fold pulse ratio), fixed before the run and not to be tuned; the
trigger threshold and every other parameter are unchanged. The env's ``reward_magnitude`` phase
parameter (``ReversalBandit-v0``) gives it. The model's dopamine is linear in the reward, an
idealisation: real dopamine neurons adapt to the range of expected rewards (Tobler et al.
2005). The previous definition, six times the weak session's trials at the same reward
(``long_training``), is kept as a contrast: its induction is gated by a prediction error that
the critic cancels within a few dozen rewarded trials, and its early tags decay (``tau_h =
1 h``) before the hour ends, so it tags only about 1.4 times as much as weak training (1.3 of
the 2.46 connections' worth the trigger needs); more repetitions of an already predicted
reward are not expected to consolidate.

Groups with the same novelty schedule share one population (one vector env whose protocol
is ``training`` and, with novelty, a ``novelty`` phase); the others are populations of their
own. After training every agent rests (:meth:`PlasticAgent.rest`: the synapses' clocks run on
with no activity) until the test ``delay_h`` hours later; an agent with a novelty exposure
leaves its rest at the exposure's time, plays the env's novelty phase (it acts; the cue is
off and nothing pays) and rests again. The learned behaviour is tested right after training
and after the delay: ``test_trials`` choices (``predict``, no learning); the measure is each
agent's fraction of choices of the trained arm (chance 0.5).

**Verdicts** (each labelled ``mechanism check``: holds by the equations, or ``finding``: follows
from the dynamics and could fail): both trainings are learned; the weak memory is lost after the
delay and the strong one kept; the blocker and the no-capture control abolish it (the blocker
also against the intact group); novelty near weak training makes it last, novelty far from it
does not, and novelty with the blocker does not; long training (more repetitions of the
weak reward) is not kept. "Lost / no effect" claims are TOST equivalence tests
(``equivalence_margin``). Descriptive rows give each group's LTP tags on the trained neuron
right after training (connections' worth, against the trigger's ``tag_threshold`` x 41) and
its highest protein level.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.report import label as verdict_label
from plasticgym.experiments.report import pyplot, save_figure, tensorboard_folder
from plasticgym.experiments.stats import (
    ci_row,
    difference_ci,
    estimate_row,
    format_ci,
    format_tost,
    mean_ci,
    tost,
)
from plasticgym.population import LogUniform, Uniform
from plasticgym.synapses import TaggedSynapse

NAME = "consolidation_behaviour"
DESCRIPTION = (
    "a learned bandit choice after a 10 h delay: weak training forgotten, strong training (a 10x "
    "reward in the same 10 min) kept unless protein synthesis is blocked, long training (1 h at "
    "the weak reward) not; does a novelty event 0.5 h (not 4 h) after weak training make it last "
    "(behavioural tagging)?"
)

HOUR = 3600.0
ENV = "plasticgym/ReversalBandit-v0"
WEAK_GROUPS = ("weak", "weak_novelty_near", "weak_novelty_far", "weak_novelty_near_blocked")
STRONG_GROUPS = ("strong", "strong_blocked", "strong_no_capture")
LONG_GROUPS = ("long_training",)
KIND = {
    "training_learned": "mechanism check",
    "weak_memory_lost": "finding",
    "strong_memory_lasts": "finding",
    "blocker_abolishes_memory": "mechanism check",
    "no_capture_control": "mechanism check",
    "novelty_near_rescues_weak": "finding",
    "novelty_far_does_not": "finding",
    "novelty_needs_proteins": "mechanism check",
    "long_training_not_kept": "finding",
}
BLOCKED = ("strong_blocked", "weak_novelty_near_blocked")  # blocker from training to blocker_h
LEARNED = 0.6  # the after-training CI must be above this fraction of trained-arm choices
KEPT = 0.6  # the after-delay CI of a kept memory must be above this
RETAINED = 0.75  # an agent "keeps" the memory (descriptive rows only) above this


@dataclass(frozen=True)
class Config:
    """What to run (see the module docstring). Times in hours unless named otherwise."""

    n_agents: int = 64
    seed: int = 0
    device: str = "cpu"
    dt: float = 30.0
    weak_trials: int = 20
    strong_trials: int = 20
    strong_reward: float = 10.0
    long_trials: int = 120
    delay_h: float = 10.0
    near_h: float = 0.5
    far_h: float = 4.0
    window_h: tuple[float, ...] = (0.0, 0.25, 1.0, 2.0)
    novelty_minutes: float = 15.0
    blocker_h: float = 2.0
    test_trials: int = 100
    record_minutes: float = 15.0
    equivalence_margin: float = 0.1
    tag_threshold: float = 0.06
    contacts: int = 5
    gamma: float = 0.5
    early_gain: float = 0.25
    depressed_gain: float = 0.02
    late_gain: float = 0.5
    residual_weight: float = 0.25
    sampled_tags: bool = True
    actor_lr: tuple[float, float] = (0.007, 0.014)  # LogUniform
    critic_lr: tuple[float, float] = (0.015, 0.025)  # Uniform
    inverse_temperature: tuple[float, float] = (8.0, 12.0)  # Uniform

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """32 agents per group, 60 test trials and no window map (its groups carry no verdict;
        each novelty time is a population of its own)."""
        return dataclasses.replace(cls(n_agents=32, test_trials=60, window_h=()), **overrides)


def _steps(config: Config, hours: float) -> int:
    return round(hours * HOUR / config.dt)


def protocol(
    config: Config, trials: int, novelty: bool, reward: float = 1.0
) -> list[dict[str, Any]]:
    """The env's protocol: ``trials`` training trials (a paying trial gives ``reward``, the
    env's ``reward_magnitude``) and, with ``novelty``, the novelty phase (``novelty_minutes`` of
    trials in a novel environment, ``ReversalBandit-v0``'s ``novelty=True``: no cue, no reward,
    the info event ``novelty``)."""
    phases: list[dict[str, Any]] = [{"name": "training", "trials": trials}]
    if reward != 1.0:
        phases[0]["reward_magnitude"] = reward
    if novelty:
        phases.append({"name": "novelty", "trials": novelty_trials(config), "novelty": True})
    return phases


def novelty_trials(config: Config) -> int:
    """Trials of the novelty phase (``novelty_minutes`` of task time, at least one)."""
    return max(1, _steps(config, config.novelty_minutes / 60))


def _agent(
    config: Config,
    n_groups: int,
    seed: int,
    gamma: Any,
    phases: list[dict[str, Any]],
    tensorboard_log: str | None = None,
    tb_log_name: str | None = None,
) -> PlasticAgent:
    synapse = TaggedSynapse(
        dt=config.dt, tag_threshold=config.tag_threshold, gamma=gamma,
        early_gain=config.early_gain, depressed_gain=config.depressed_gain,
        late_gain=config.late_gain, sampled=config.sampled_tags,
        contacts=config.contacts if config.sampled_tags else 1, trigger_event="novelty",
    )  # fmt: skip
    agent = PlasticAgent(
        ENV, n_agents=n_groups * config.n_agents, seed=seed, device=config.device,
        synapse=synapse, scaling=None, gamma=0.0, actor_weight_max=2.0, actor_init_scale=0.05,
        actor_lr=LogUniform(*config.actor_lr), critic_lr=Uniform(*config.critic_lr),
        inverse_temperature=Uniform(*config.inverse_temperature),
        env_kwargs={"reversal_rule": "none", "p_high": 1.0, "p_low": 0.0, "initial_arm": 0,
                    "protocol": phases},
        tensorboard_log=tensorboard_log, tb_log_name=tb_log_name,
    )  # fmt: skip
    return with_residual_weight(agent, config.residual_weight)


def with_residual_weight(agent: PlasticAgent, residual: float) -> PlasticAgent:
    """The agent with ``residual`` added to every actor weight: Clopath et al.'s residual
    weight ``w_0`` of ``w = w_0 + g_H h - g_L l + g_z z``, so that early LTD and a late
    weight pulled below 0 by an LTD tag (``z ~ -0.38`` with proteins at ``gamma = 0.5``) are
    not clipped at the bound 0 (a clipped change would leave the weight off its states). Both
    actor neurons see the same input and get the same offset, so the softmax policy is
    unchanged (the rates ``relu(W x)`` stay above 0)."""
    agent.actor = agent.actor.with_weights(agent.actor.weights + residual)
    return agent


def trained_arm_choices(agent: PlasticAgent, n_trials: int) -> np.ndarray:
    """Each agent's fraction of choices of arm 0 in ``n_trials`` predicted trials (no
    learning), each from a fresh start (the task's cue is constant, so its code is that of
    every training trial). Returns ``[n_agents]``."""
    obs = np.ones((agent.n_agents, 1), dtype=np.float32)
    start = np.ones(agent.n_agents, dtype=bool)
    chosen = np.zeros(agent.n_agents)
    for _ in range(n_trials):
        actions, _ = agent.predict(obs, state=None, episode_start=start)
        chosen += actions == 0
    return chosen / n_trials


def _summary(agent: PlasticAgent) -> dict[str, np.ndarray]:
    """Per agent, the trained neuron's (arm 0): its synapses in the early LTP state (LTP tags,
    ``sum_j h``, counted in connections: contacts / ``contacts``; only connections active
    during training, the cue's microstimuli and the tonic input, are ever induced), its late
    weights summed (``sum_j z``, captured connections), and its protein level."""
    tags = agent.actor.synapses.state[1]
    contacts = tags.high.shape[-1] // agent.actor.weights.shape[-1]
    return {"early": (tags.high[:, 0].sum(-1) / contacts).cpu().numpy(),
            "late": (tags.z[:, 0].sum(-1) / contacts).cpu().numpy(),
            "protein": tags.p[:, 0].cpu().numpy()}  # fmt: skip


def novelty_schedule(config: Config) -> dict[str, float]:
    """Each weak group with a novelty exposure and its time, hours after training."""
    schedule = {"weak_novelty_near": config.near_h, "weak_novelty_far": config.far_h,
                "weak_novelty_near_blocked": config.near_h}  # fmt: skip
    return schedule | {window_group(t): t for t in config.window_h}


def populations(config: Config) -> list[tuple[tuple[str, ...], float | None]]:
    """The weak-training populations: groups with the same novelty time (None: no novelty)
    share one, in the order of their first group."""
    schedule = novelty_schedule(config)
    by_time: dict[float | None, list[str]] = {}
    for group in (*WEAK_GROUPS, *(window_group(t) for t in config.window_h)):
        by_time.setdefault(schedule.get(group), []).append(group)
    return [(tuple(groups), time) for time, groups in by_time.items()]


def _population(
    config: Config,
    groups: tuple[str, ...],
    seed: int,
    trials: int,
    novelty_h: float | None = None,
    tensorboard_log: str | None = None,
    tb_log_name: str | None = None,
    reward: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train (``trials`` trials, a paying one giving ``reward``), rest and test one population
    of ``len(groups) * n_agents`` agents, with the env's novelty phase ``novelty_h`` hours
    after training (None: none); TensorBoard run ``tb_log_name`` under ``tensorboard_log`` if
    given."""
    n = config.n_agents
    group = np.repeat(np.array(groups), n)
    gamma = tuple(0.0 if g == "strong_no_capture" else config.gamma for g in group)
    phases = protocol(config, trials, novelty_h is not None, reward)
    agent = _agent(config, len(groups), seed, gamma, phases, tensorboard_log, tb_log_name)
    blocked = torch.tensor(np.isin(group, BLOCKED), device=agent.device)
    agent.block_protein_synthesis(blocked)
    agent.learn(trials)
    after_training = trained_arm_choices(agent, config.test_trials)
    chunk = max(1, _steps(config, config.record_minutes / 60))
    total, washout = _steps(config, config.delay_h), _steps(config, config.blocker_h)
    start = None if novelty_h is None else _steps(config, novelty_h)
    rows, k = [], 0
    while True:
        if k % chunk == 0 or k == total:
            rows.append(pd.DataFrame({"agent": np.arange(len(group)), "group": group,
                                      "time_h": k * config.dt / HOUR,
                                      **_summary(agent)}))  # fmt: skip
        if k >= total:
            break
        if k >= washout:
            agent.block_protein_synthesis(False)
        if k == start:  # the env's novelty phase: the agents act in it
            agent.learn(min(novelty_trials(config), total - k))
            k += min(novelty_trials(config), total - k)
            continue
        stops = [(k // chunk + 1) * chunk, total]
        stops += [s for s in (washout, start) if s is not None and s > k]
        agent.rest(min(stops) - k)
        k = min(stops)
    after_delay = trained_arm_choices(agent, config.test_trials)
    params = agent.individual_parameters.reset_index(drop=True)
    choices = pd.DataFrame(
        {
            "agent": np.arange(len(group)),
            "group": group,
            "after_training": after_training,
            "after_delay": after_delay,
        }
    )
    for column in ("actor_lr", "critic_lr", "inverse_temperature"):
        choices[column] = params[column].to_numpy()
    return choices, pd.concat(rows, ignore_index=True)


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train the strong-training population, the weak-training ones (:func:`populations`:
    one per novelty schedule, each batching its groups) and the long-training one; TensorBoard
    runs ``consolidation_behaviour_strong``, ``consolidation_behaviour_weak`` (the population
    without novelty) or ``consolidation_behaviour_weak_novelty_<t>h``, and
    ``consolidation_behaviour_long`` under ``out_dir/tensorboard``. The long population's seed
    comes last in the fan-out, so the others keep theirs."""
    del progress_bar
    tensorboard_log = tensorboard_folder(out_dir)
    weak = populations(config)
    seeds = np.random.SeedSequence(config.seed).generate_state(2 + len(weak))
    parts = [_population(config, STRONG_GROUPS, int(seeds[0]), config.strong_trials, None,
                         tensorboard_log, f"{NAME}_strong", config.strong_reward)]  # fmt: skip
    for (groups, time), seed in zip(weak, seeds[1:-1], strict=True):
        name = f"{NAME}_weak" if time is None else f"{NAME}_weak_novelty_{time:g}h"
        parts.append(_population(config, groups, int(seed), config.weak_trials, time,
                                 tensorboard_log, name))  # fmt: skip
    parts.append(_population(config, LONG_GROUPS, int(seeds[-1]), config.long_trials, None,
                             tensorboard_log, f"{NAME}_long"))  # fmt: skip
    offset = 0
    for choices, timecourse in parts:
        choices["agent"] += offset
        timecourse["agent"] += offset
        offset += len(choices)
    return {"choices": pd.concat([c for c, _ in parts], ignore_index=True),
            "timecourse": pd.concat([t for _, t in parts], ignore_index=True)}  # fmt: skip


def window_group(hours: float) -> str:
    """The group with the novelty event ``hours`` after weak training (the window map)."""
    return f"weak_novelty_{hours:g}h"


def _label(verdict: str) -> str:
    return verdict_label(KIND[verdict])


class PartResult(NamedTuple):
    """What one group of verdicts gives the report."""

    verdicts: dict[str, bool]
    lines: dict[str, str]
    rows: list[dict[str, Any]]


def _values(choices: pd.DataFrame, group: str, column: str) -> np.ndarray:
    """One group's per-agent ``column`` (in agent order)."""
    rows = choices[choices["group"] == group].sort_values("agent")
    return rows[column].to_numpy(dtype=float)


def _tost_row(test: Any, group: str, quantity: str, n: int) -> dict[str, Any]:
    return {"group": group, "quantity": f"{quantity} (TOST: 90% interval, p)",
            "mean": test.difference, "ci_low": test.low, "ci_high": test.high, "n": n,
            "p": test.p}  # fmt: skip


def _difference_row(difference: Any, group: str, n: int) -> dict[str, Any]:
    return estimate_row(difference, n, group=group,
                        quantity="after delay, difference (Welch 95%)")  # fmt: skip


def _memory_verdicts(choices: pd.DataFrame, config: Config) -> PartResult:
    """Training learned, weak memory lost, strong memory kept, the blocker and the control."""

    def values(group: str, column: str = "after_delay") -> np.ndarray:
        return _values(choices, group, column)

    margin, n, delay = config.equivalence_margin, config.n_agents, config.delay_h
    rows: list[dict[str, Any]] = []
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    learned = {g: mean_ci(values(g, "after_training")) for g in ("weak", "strong", *LONG_GROUPS)}
    verdicts["training_learned"] = all(ci[1] > LEARNED for ci in learned.values())
    lines["training_learned"] = (
        f"{_label('training_learned')} trained-arm choices right after training: weak "
        f"{format_ci(*learned['weak'])}, strong {format_ci(*learned['strong'])}, long "
        f"{format_ci(*learned['long_training'])} (CIs > {LEARNED:g})"
    )
    weak_lost = tost(values("weak") - 0.5, None, margin)
    rows.append(_tost_row(weak_lost, "weak", "after delay - 0.5", n))
    verdicts["weak_memory_lost"] = weak_lost.equivalent
    lines["weak_memory_lost"] = (
        f"{_label('weak_memory_lost')} weak after {delay:g} h, choices - 0.5: "
        f"{format_tost(weak_lost, margin)}"
    )
    strong_kept = mean_ci(values("strong"))
    verdicts["strong_memory_lasts"] = strong_kept[1] > KEPT
    lines["strong_memory_lasts"] = (
        f"{_label('strong_memory_lasts')} strong after {delay:g} h: "
        f"{format_ci(*strong_kept)} (CI > {KEPT:g})"
    )
    blocked = tost(values("strong_blocked") - 0.5, None, margin)
    rows.append(_tost_row(blocked, "strong_blocked", "after delay - 0.5", n))
    loss = difference_ci(values("strong"), values("strong_blocked"))
    rows.append(_difference_row(loss, "strong - strong_blocked", n))
    verdicts["blocker_abolishes_memory"] = blocked.equivalent and loss[1] > 0
    lines["blocker_abolishes_memory"] = (
        f"{_label('blocker_abolishes_memory')} blocker during training, after the delay, "
        f"choices - 0.5: {format_tost(blocked, margin)}; intact - blocked {format_ci(*loss)} "
        "(CI > 0)"
    )
    long_lost = tost(values("long_training") - 0.5, None, margin)
    rows.append(_tost_row(long_lost, "long_training", "after delay - 0.5", n))
    verdicts["long_training_not_kept"] = long_lost.equivalent
    lines["long_training_not_kept"] = (
        f"{_label('long_training_not_kept')} long training ({config.long_trials} trials at "
        f"reward 1) after {delay:g} h, choices - 0.5: {format_tost(long_lost, margin)}"
    )
    no_capture = tost(values("strong_no_capture") - 0.5, None, margin)
    rows.append(_tost_row(no_capture, "strong_no_capture", "after delay - 0.5", n))
    verdicts["no_capture_control"] = no_capture.equivalent
    lines["no_capture_control"] = (
        f"{_label('no_capture_control')} strong training with gamma = 0, after the delay, "
        f"choices - 0.5: {format_tost(no_capture, margin)}"
    )
    return PartResult(verdicts, lines, rows)


def _novelty_verdicts(choices: pd.DataFrame, config: Config) -> PartResult:
    """Behavioural tagging: novelty near weak training rescues it, far from it does not."""

    def values(group: str) -> np.ndarray:
        return _values(choices, group, "after_delay")

    margin, n = config.equivalence_margin, config.n_agents
    near = difference_ci(values("weak_novelty_near"), values("weak"))
    rows = [_difference_row(near, "weak_novelty_near - weak", n)]
    near_kept = mean_ci(values("weak_novelty_near"))
    verdicts = {"novelty_near_rescues_weak": near[1] > 0 and near_kept[1] > KEPT}
    lines = {"novelty_near_rescues_weak": (
        f"{_label('novelty_near_rescues_weak')} novelty {config.near_h:g} h after weak "
        f"training: after the delay {format_ci(*near_kept)} (CI > {KEPT:g}); minus weak alone "
        f"{format_ci(*near)} (CI > 0)"
    )}  # fmt: skip
    far = tost(values("weak_novelty_far"), values("weak"), margin)
    rows.append(_tost_row(far, "weak_novelty_far - weak", "after delay, difference", n))
    verdicts["novelty_far_does_not"] = far.equivalent
    lines["novelty_far_does_not"] = (
        f"{_label('novelty_far_does_not')} novelty {config.far_h:g} h after weak training, "
        f"after the delay minus weak alone: {format_tost(far, margin)}"
    )
    needs = tost(values("weak_novelty_near_blocked") - 0.5, None, margin)
    rows.append(_tost_row(needs, "weak_novelty_near_blocked", "after delay - 0.5", n))
    loss = difference_ci(values("weak_novelty_near"), values("weak_novelty_near_blocked"))
    rows.append(_difference_row(loss, "weak_novelty_near - weak_novelty_near_blocked", n))
    verdicts["novelty_needs_proteins"] = needs.equivalent and loss[1] > 0
    lines["novelty_needs_proteins"] = (
        f"{_label('novelty_needs_proteins')} novelty {config.near_h:g} h after weak training "
        f"with a protein-synthesis blocker (training to {config.blocker_h:g} h), after the "
        f"delay, choices - 0.5: {format_tost(needs, margin)}; novelty - novelty with blocker "
        f"{format_ci(*loss)} (CI > 0)"
    )
    return PartResult(verdicts, lines, rows)


def _descriptive_rows(choices: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """Fraction of agents that kept the memory per group, and the tagging window's map."""
    groups = (*WEAK_GROUPS, *STRONG_GROUPS, *LONG_GROUPS,
              *(window_group(t) for t in config.window_h))  # fmt: skip
    rows = []
    for group in groups:
        kept = (_values(choices, group, "after_delay") > RETAINED).astype(float)
        rows.append(ci_row(kept, group=group, quantity=f"fraction of agents with after-delay "
                           f"choices > {RETAINED:g} (descriptive)"))  # fmt: skip
    times = {window_group(t): t for t in config.window_h}
    times |= {"weak_novelty_near": config.near_h, "weak_novelty_far": config.far_h}
    weak = _values(choices, "weak", "after_delay")
    for group in sorted(times, key=times.get):
        if group in set(choices["group"]):
            difference = difference_ci(_values(choices, group, "after_delay"), weak)
            rows.append(estimate_row(
                difference, config.n_agents, group=f"{group} - weak",
                quantity=f"window: novelty {times[group]:g} h after training, after the delay, "
                "difference (Welch 95%)",
            ))  # fmt: skip
    return rows


def _tag_rows(timecourse: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """Per group without novelty, the trained neuron's LTP tags right after training (in
    connections' worth; the trigger needs ``tag_threshold`` x 41) and its highest protein level
    at the record times (descriptive)."""
    trigger = config.tag_threshold * 41
    rows = []
    for group in ("weak", *STRONG_GROUPS, *LONG_GROUPS):
        own = timecourse[timecourse["group"] == group]
        start = own[own["time_h"] == 0.0].sort_values("agent")["early"].to_numpy(dtype=float)
        rows.append(ci_row(start, group=group, quantity="LTP tags right after training "
                           f"(connections' worth; trigger {trigger:g}) (descriptive)"))  # fmt: skip
        peak = own.groupby("agent")["protein"].max().to_numpy(dtype=float)
        quantity = "highest protein level at the record times (descriptive)"
        rows.append(ci_row(peak, group=group, quantity=quantity))
    return rows


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    choices = records["choices"]
    rows: list[dict[str, Any]] = []
    groups = (*WEAK_GROUPS, *STRONG_GROUPS, *LONG_GROUPS,
              *(window_group(t) for t in config.window_h))  # fmt: skip
    for group in groups:
        for column in ("after_training", "after_delay"):
            quantity = f"trained-arm choices {column.replace('_', ' ')}"
            rows.append(ci_row(_values(choices, group, column), group=group, quantity=quantity))
    memory, novelty = _memory_verdicts(choices, config), _novelty_verdicts(choices, config)
    rows += [*memory.rows, *novelty.rows, *_descriptive_rows(choices, config)]
    if "timecourse" in records:
        rows += _tag_rows(records["timecourse"], config)
    return {"verdicts": {**memory.verdicts, **novelty.verdicts}, "table": pd.DataFrame(rows),
            "lines": {**memory.lines, **novelty.lines}, "config": config,
            "verdict_kinds": dict(KIND)}  # fmt: skip


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Trained-arm choices after training and after the delay per group; the trained neuron's
    early state, late weight and protein level over the delay."""
    plt = pyplot()
    choices, tc = records["choices"], records["timecourse"]
    groups = [*WEAK_GROUPS, *STRONG_GROUPS, *LONG_GROUPS]
    fig, axes = plt.subplots(1, 5, figsize=(25, 4.5))
    ax = axes[0]
    for offset, column in ((-0.18, "after_training"), (0.18, "after_delay")):
        stats_ = [mean_ci(choices[choices["group"] == g][column]) for g in groups]
        means = [s[0] for s in stats_]
        errors = [[s[0] - s[1] for s in stats_], [s[2] - s[0] for s in stats_]]
        ax.bar(np.arange(len(groups)) + offset, means, 0.36, yerr=errors,
               label=column.replace("_", " "))  # fmt: skip
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(groups)), [g.replace("_", "\n") for g in groups], fontsize=7)
    ax.set_ylabel("trained-arm choices (mean, 95% CI)")
    ax.legend(fontsize=8)
    table = pd.DataFrame(result["table"])
    window = table[table["quantity"].str.startswith("window:")]
    hours = window["quantity"].str.extract(r"novelty ([0-9.]+) h")[0].astype(float)
    ax = axes[4]
    ax.errorbar(hours, window["mean"], yerr=[window["mean"] - window["ci_low"],
                window["ci_high"] - window["mean"]], marker="o", capsize=3)  # fmt: skip
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("novelty event, hours after weak training")
    ax.set_ylabel("after delay: minus weak alone (95% CI)")
    for ax, column, label in zip(axes[1:4], ("early", "late", "protein"),
                                 ("LTP tags (sum_j h)", "late weights (sum_j z)",
                                  "protein p"), strict=True):  # fmt: skip
        for group in groups:
            mean = tc[tc["group"] == group].groupby("time_h")[column].mean()
            ax.plot(mean.index, mean, label=group)
        ax.set_xlabel("hours after training")
        ax.set_ylabel(label)
    axes[1].legend(fontsize=7)
    return [save_figure(fig, Path(out_dir) / "consolidation_behaviour.png")]
