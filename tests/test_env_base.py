"""The shared task framework (``plasticgym.envs._base``): protocols as data, phase counters,
argument checks and the ``protocol`` property of both shells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from plasticgym.config import check_int, check_probability
from plasticgym.envs._base import (
    Phase,
    TaskConfig,
    UniformStreams,
    advance_phase,
    check_discrete_actions,
    default_protocol,
    parse_protocol,
    task_config,
)

VALIDATORS = {
    "common_prob": check_probability,
    "blocks": lambda name, value: check_int(name, value, 1),
}
DEFAULTS = {"common_prob": 0.7, "blocks": 2}


def parse(protocol: Any) -> tuple[Phase, ...]:
    return parse_protocol(protocol, length_key="trials", defaults=DEFAULTS, validators=VALIDATORS)


# --------------------------------------------------------------------------------------------
# parse_protocol
# --------------------------------------------------------------------------------------------


def test_mappings_are_validated_and_take_the_defaults() -> None:
    phases = parse([{"name": "a", "trials": 3}, {"name": "b", "trials": 1, "blocks": 4}])
    assert phases == (
        Phase("a", 3, {"common_prob": 0.7, "blocks": 2}),
        Phase("b", 1, {"common_prob": 0.7, "blocks": 4}),
    )


def test_phase_instances_are_validated_like_mappings() -> None:
    with pytest.raises(ValueError, match=r"protocol\[0\] \('x'\): common_prob .* got 5\.0"):
        parse([Phase("x", 3, {"common_prob": 5.0})])
    with pytest.raises(ValueError, match=r"protocol\[1\] .* unknown key 'bogus'.*'common_prob'"):
        parse([{"name": "a", "trials": 1}, Phase("x", 3, {"bogus": 1})])
    with pytest.raises(ValueError, match=r"protocol\[0\] \('x'\): trials .* got 0"):
        parse([Phase("x", 0)])
    with pytest.raises(ValueError, match=r"protocol\[0\] \('x'\): trials .* got 2\.5"):
        parse([Phase("x", 2.5)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"protocol\[0\]: .*'trials' clashes"):
        parse([Phase("x", 3, {"trials": 4})])
    with pytest.raises(ValueError, match=r"unique.*\['x'\]"):
        parse([Phase("x", 3), {"name": "x", "trials": 2}])


def test_phase_instances_without_params_take_the_defaults() -> None:
    (phase,) = parse([Phase("x", 3)])
    assert phase == Phase("x", 3, DEFAULTS)
    assert phase.common_prob == 0.7 and phase.blocks == 2
    partial = parse([Phase("x", 3, {"blocks": 5})])
    assert partial == (Phase("x", 3, {"common_prob": 0.7, "blocks": 5}),)


def test_parsed_protocols_round_trip_through_parse_protocol() -> None:
    phases = parse([{"name": "a", "trials": 3, "common_prob": 0.1}, {"name": "b", "trials": 2}])
    assert parse(phases) == phases
    assert parse(list(phases)) == phases
    assert parse([p.to_mapping("trials") for p in phases]) == phases
    # old style: a task that turns its Phases into mappings itself still works
    entries = [{"name": p.name, "trials": p.length, **p.params} for p in phases]
    assert parse(entries) == phases


def test_phase_to_mapping() -> None:
    phase = Phase("a", 4, {"common_prob": 0.3})
    assert phase.to_mapping("sessions") == {"name": "a", "sessions": 4, "common_prob": 0.3}
    with pytest.raises(ValueError, match="'name' clashes"):
        Phase("a", 4, {"name": "b"}).to_mapping("trials")


# --------------------------------------------------------------------------------------------
# default_protocol
# --------------------------------------------------------------------------------------------


def _default(protocol: Any, length: Any) -> Any:
    return default_protocol(
        protocol,
        length,
        name="task",
        length_key="sessions",
        length_name="n_sessions",
        default_length=30,
    )


def test_default_protocol_is_one_phase_of_the_given_or_default_length() -> None:
    assert _default(None, None) == [{"name": "task", "sessions": 30}]
    assert _default(None, 7) == [{"name": "task", "sessions": 7}]
    assert _default(None, np.int64(7)) == [{"name": "task", "sessions": 7}]
    protocol = [{"name": "a", "sessions": 2}]
    assert _default(protocol, None) is protocol


@pytest.mark.parametrize("length", [0, -1, 2.5, True, "3"])
def test_default_protocol_rejects_invalid_lengths(length: Any) -> None:
    with pytest.raises(ValueError, match=f"n_sessions must be an integer >= 1, got {length!r}"):
        _default(None, length)


def test_default_protocol_rejects_a_length_and_a_protocol_together() -> None:
    with pytest.raises(ValueError, match=r"either n_sessions or protocol, not both.*sessions"):
        _default([{"name": "a", "sessions": 2}], 5)


# --------------------------------------------------------------------------------------------
# advance_phase
# --------------------------------------------------------------------------------------------


def test_advance_phase_golden_values() -> None:
    lengths = np.array([2, 3, 1])
    # env:              0      1      2      3      4      5      6
    phase = np.array([0, 0, 0, 1, 2, 2, 1])
    count = np.array([0, 0, 1, 2, 0, 0, 1])
    ended = np.array([False, True, True, True, True, False, True])
    new_phase, new_count, terminated = advance_phase(phase, count, ended, lengths)
    # 0: nothing ended; 1: one of 2 counted; 2: phase 0 done -> phase 1; 3: phase 1 done ->
    # phase 2; 4: the last unit of the last phase -> terminated, counters unchanged;
    # 5: nothing ended; 6: two of 3 counted
    np.testing.assert_array_equal(new_phase, [0, 0, 1, 2, 2, 2, 1])
    np.testing.assert_array_equal(new_count, [0, 1, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(terminated, [False, False, False, False, True, False, False])
    assert new_phase.dtype == np.int64 and new_count.dtype == np.int64
    assert terminated.dtype == np.bool_
    # inputs untouched
    np.testing.assert_array_equal(phase, [0, 0, 0, 1, 2, 2, 1])
    np.testing.assert_array_equal(count, [0, 0, 1, 2, 0, 0, 1])


def test_advance_phase_runs_through_a_protocol_once() -> None:
    lengths = np.array([2, 3, 1])
    phase, count = np.zeros(1, np.int64), np.zeros(1, np.int64)
    seen, ended = [], np.ones(1, dtype=bool)
    for _ in range(lengths.sum()):
        seen.append(int(phase[0]))
        phase, count, terminated = advance_phase(phase, count, ended, lengths)
        if terminated[0]:
            break
    assert seen == [0, 0, 1, 1, 1, 2] and terminated[0]


# --------------------------------------------------------------------------------------------
# Task arguments: TaskConfig and task_config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BanditConfig(TaskConfig):
    p_high: float = 0.8
    bounds: tuple[float, float] = (0.25, 0.75)
    protocol: Any = None

    length_key = "trials"
    json_fields = ("bounds",)

    def __post_init__(self) -> None:
        defaults = {"common_prob": check_probability("p_high", self.p_high), "blocks": 2}
        entries = self.protocol or [{"name": "task", "trials": 3}]
        phases = parse_protocol(
            entries, length_key="trials", defaults=defaults, validators=VALIDATORS
        )
        self._store(p_high=defaults["common_prob"], protocol=phases)


def test_task_config_validates_and_lists_the_allowed_arguments() -> None:
    config = task_config("Task", BanditConfig, {"p_high": 1}, ("num_envs",))
    assert config.p_high == 1.0 and isinstance(config.p_high, float)
    assert config.phase_names == ("task",)
    assert BanditConfig.argument_names() == ("p_high", "bounds", "protocol")
    with pytest.raises(
        ValueError,
        match=r"Task got an unknown argument 'p_hgh'; allowed arguments are "
        r"\('num_envs', 'p_high', 'bounds', 'protocol', 'render_mode'\)",
    ):
        task_config("Task", BanditConfig, {"p_hgh": 0.9, "x": 1}, ("num_envs",))
    with pytest.raises(ValueError, match="p_high must be a probability"):
        task_config("Task", BanditConfig, {"p_high": 2}, ())


def test_task_config_json_has_the_chosen_fields_then_the_resolved_protocol() -> None:
    config = BanditConfig(protocol=[{"name": "a", "trials": 2, "blocks": 5}])
    assert config.to_json() == {
        "bounds": [0.25, 0.75],
        "protocol": [{"name": "a", "trials": 2, "common_prob": 0.8, "blocks": 5}],
    }
    with pytest.raises(AttributeError):
        config.p_high = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("k", [1, 3])
def test_draw_all_gives_the_numbers_draw_gives_across_refills(k: int) -> None:
    fast, slow = UniformStreams(5, block=8), UniformStreams(5, block=8)
    for env in range(5):
        fast.seed(env, np.random.default_rng(env))
        slow.seed(env, np.random.default_rng(env))
    slow.draw(np.array([1, 3]), 2)  # envs at different positions: refills at different steps
    fast.draw(np.array([1, 3]), 2)
    for _ in range(11):
        np.testing.assert_array_equal(fast.draw_all(k), slow.draw(np.arange(5), k))
    np.testing.assert_array_equal(fast.position, slow.position)
    np.testing.assert_array_equal(fast.buffer, slow.buffer)


def test_integer_actions_fast_path_returns_a_copy_and_refuses_out_of_range() -> None:
    actions = np.array([0, 2, 1], dtype=np.int64)
    checked = check_discrete_actions(actions, 3, 3)
    assert checked.dtype == np.int64 and checked.tolist() == [0, 2, 1]
    assert not np.shares_memory(checked, actions)
    with pytest.raises(ValueError, match=r"invalid entries at indices \[1\]: \[3\]"):
        check_discrete_actions(np.array([0, 3, 1]), 3, 3)
    with pytest.raises(ValueError, match="got dtype bool"):
        check_discrete_actions(np.array([True, False, True]), 3, 3)
