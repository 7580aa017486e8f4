"""The opt-in compiled step of PlasticAgent (plasticgym.agents.plastic_compiled)."""

from __future__ import annotations

import pytest
import torch

from plasticgym.agents import PlasticAgent, plastic_compiled
from plasticgym.agents.plastic_compiled import (
    CompilerUnavailableError,
    compile_step,
    find_cpp_compiler,
    is_compiled,
)

ENV = "plasticgym/ReversalBandit-v0"
needs_compiler = pytest.mark.skipif(find_cpp_compiler() is None, reason="no C++ compiler")


@pytest.fixture(autouse=True, scope="module")
def _inductor_cache_in_pytest_tmp(tmp_path_factory):
    """TorchInductor's kernel cache goes to this module's pytest folder, not the system temp
    directory's ``torchinductor_$USER`` (the suite leaves nothing outside its folders). Its
    precompiled headers (~150 MB) ignore ``TORCHINDUCTOR_CACHE_DIR`` (torch 2.13 fixes their
    folder at import from the temp directory), so the test moves that private path too."""
    import torch._inductor.codecache as codecache

    folder = tmp_path_factory.mktemp("torchinductor")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHINDUCTOR_CACHE_DIR", str(folder))
        if hasattr(codecache, "_HEADER_DIR") and hasattr(codecache, "_HEADER_LOCK_DIR"):
            patch.setattr(codecache, "_HEADER_DIR", str(folder / "precompiled_headers"))
            patch.setattr(codecache, "_HEADER_LOCK_DIR", str(folder / "precompiled_headers/locks"))
        yield


def _run(compiled: bool, steps: int = 60, env: str = ENV, **hyper: object) -> PlasticAgent:
    agent = PlasticAgent(env, n_agents=8, seed=3, **hyper)
    if compiled:
        assert compile_step(agent)
        assert is_compiled(agent)
    agent.learn(steps, record=True)
    return agent


@needs_compiler
@pytest.mark.parametrize(
    "hyper",
    [{}, {"scaling": None, "actor_post": "centered"},
     {"env": "plasticgym/Addiction-v0", "dopamine": "redish"}],  # (a dopamine model's events)
)  # fmt: skip
def test_compiled_step_agrees_with_eager_and_repeats_bit_for_bit(hyper: dict) -> None:
    eager, first, second = _run(False, **hyper), _run(True, **hyper), _run(True, **hyper)
    # same seed, compiled: the same bits
    assert torch.equal(first.actor.weights, second.actor.weights)
    assert torch.equal(first.critic.weights, second.critic.weights)
    assert first.records.equals(second.records)
    # against the eager step: the same choices, weights within float32 rounding of fused ops
    assert (first.records["action"] == eager.records["action"]).all()
    torch.testing.assert_close(first.actor.weights, eager.actor.weights, rtol=0, atol=1e-5)
    torch.testing.assert_close(first.critic.weights, eager.critic.weights, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        torch.as_tensor(first.records["rpe"].to_numpy()),
        torch.as_tensor(eager.records["rpe"].to_numpy()), rtol=0, atol=1e-5,
    )  # fmt: skip


@needs_compiler
def test_agents_compiled_one_after_another_keep_their_own_programs() -> None:
    """Each agent's graph bakes in its own parts and float hyperparameters: a second agent
    with other ones must not reuse the first one's program (found: it did, through a
    ``functools.partial`` wrapper)."""
    hyper = {"critic_lr": 0.3, "inverse_temperature": 2.0, "scaling": None}
    first, second = _run(True), _run(True, **hyper)
    eager_first, eager_second = _run(False), _run(False, **hyper)
    assert not torch.allclose(eager_first.critic.weights, eager_second.critic.weights, atol=1e-3)
    for fused, eager in ((first, eager_first), (second, eager_second)):
        assert (fused.records["action"] == eager.records["action"]).all()
        torch.testing.assert_close(fused.critic.weights, eager.critic.weights, rtol=0, atol=1e-5)
        torch.testing.assert_close(fused.actor.weights, eager.actor.weights, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("hyper", "named"),
    [({"habit": True}, "habit"), ({"synapse": "calcium"}, "synapse='calcium'")],
)
def test_compile_step_refuses_parts_it_does_not_cover(hyper: dict, named: str) -> None:
    agent = PlasticAgent(ENV, n_agents=2, seed=0, **hyper)
    with pytest.raises(ValueError, match=f"compile_step does not cover .*{named}"):
        compile_step(agent)
    assert not is_compiled(agent)


def test_compile_step_refuses_box_actions_and_other_agents() -> None:
    with pytest.raises(ValueError, match="Box actions"):
        compile_step(PlasticAgent("plasticgym/Reaching-v0", n_agents=2, seed=0))
    with pytest.raises(TypeError, match="needs a PlasticAgent, got str"):
        compile_step("agent")


def test_without_a_compiler_it_raises_or_falls_back_with_a_warning(monkeypatch) -> None:
    monkeypatch.setattr(plastic_compiled, "find_cpp_compiler", lambda: None)
    agent = PlasticAgent(ENV, n_agents=2, seed=0)
    with pytest.raises(CompilerUnavailableError, match=r"needs a C\+\+ compiler"):
        compile_step(agent)
    with pytest.warns(RuntimeWarning, match="keeping the eager step"):
        assert compile_step(agent, fallback=True) is False
    assert not is_compiled(agent)
    agent.learn(5)  # the eager step still learns


def test_find_cpp_compiler_reads_cxx_and_path(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    assert find_cpp_compiler() is None
    fake = tmp_path / "my-c++"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CXX", "my-c++")
    assert find_cpp_compiler() == str(fake)


@pytest.mark.parametrize("n_actions", [1, 2, 3, 5, 8])
def test_running_sum_is_the_cpu_cumsum_bit_for_bit(n_actions: int) -> None:
    """The compiled step's in-graph cumulative sum must pick the same action as the eager
    step's ``torch.cumsum`` (float32 accumulated in float64 on the CPU) for every draw."""
    from plasticgym.agents.plastic_compiled import running_sum

    generator = torch.Generator().manual_seed(n_actions)
    logits = torch.randn(5000, n_actions, generator=generator) * 4
    for probs in (
        torch.softmax(logits, dim=1),
        torch.rand(5000, n_actions, generator=generator) ** 3,
    ):
        assert torch.equal(running_sum(probs), torch.cumsum(probs, dim=1))
    assert running_sum(probs).dtype == torch.float32


@needs_compiler
def test_state_set_between_learn_calls_is_read_by_the_compiled_step() -> None:
    """The compiled step keeps the flat state it wrote; weights replaced from outside between
    two ``learn`` calls must be the ones it learns from (as the eager step does)."""
    agents = []
    for compiled in (False, True):
        agent = _run(compiled, steps=20)
        synapses = agent.actor.synapses
        agent.actor = agent.actor._replace(
            synapses=synapses._replace(weights=synapses.weights.flip(1))
        )
        agent.learn(40, record=True)
        agents.append(agent)
    eager, fused = agents
    assert (fused.records["action"] == eager.records["action"]).all()
    torch.testing.assert_close(fused.actor.weights, eager.actor.weights, rtol=0, atol=1e-5)
    torch.testing.assert_close(fused.critic.weights, eager.critic.weights, rtol=0, atol=1e-5)


@needs_compiler
def test_compiled_bookkeeping_across_episode_ends_equals_eager() -> None:
    """The episode counters and returns the compiled graph computes equal the eager step's
    across autoresets (10-trial episodes, 45 steps: four resets per agent)."""
    runs = []
    for compiled in (False, True):
        agent = PlasticAgent(ENV, n_agents=8, seed=3, env_kwargs={"n_trials": 10})
        if compiled:
            compile_step(agent)
        agent.learn(45, record=True)
        runs.append(agent)
    eager, fused = runs
    assert (fused.episodes_completed == eager.episodes_completed).all()
    assert fused.episodes_completed.min() >= 4
    for column in ("episode", "action", "reward"):
        assert (fused.records[column] == eager.records[column]).all(), column
    assert torch.equal(fused._progress.episode_return, eager._progress.episode_return)
