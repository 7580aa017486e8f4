"""The docs stay in sync with the code."""

from pathlib import Path

from plasticgym.docs import render_task_docs, task_ids

ROOT = Path(__file__).resolve().parent.parent


def test_task_docs_are_generated_from_docstrings():
    on_disk = (ROOT / "docs" / "tasks.md").read_text()
    assert on_disk == render_task_docs(), "run: python -m plasticgym.docs > docs/tasks.md"


def test_every_task_documents_the_required_sections():
    text = render_task_docs()
    assert task_ids()
    for section in ("Description", "Action Space", "Observation Space", "Rewards",
                    "Starting State", "Episode End", "Arguments", "Phenomenon", "References",
                    "Version History"):  # fmt: skip
        assert text.count(f"### {section}") == len(task_ids()), section


def test_readme_quickstart_is_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "plasticgym quickstart" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_agent_docs_list_every_hyperparameter():
    """Every keyword PlasticAgent takes has a row with its default: the core fields, the
    switches and every built-in part's flat keywords."""
    import dataclasses

    from plasticgym.agents import PlasticAgentConfig
    from plasticgym.dopamine import AverageReward, Homeostatic, Redish
    from plasticgym.habits import GoalDirected, Habit
    from plasticgym.latent_causes import CauseInference
    from plasticgym.maps import TopographicMap
    from plasticgym.plasticity import SynapticScaling
    from plasticgym.structure import StructuralPlasticity
    from plasticgym.synapses import BCMRule, CalciumRule, TaggedSynapse
    from plasticgym.systems import ComplementaryLearning

    text = (ROOT / "docs" / "agents.md").read_text()
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    expected = {f.name: f.default for f in dataclasses.fields(PlasticAgentConfig)
                if f.name not in PlasticAgentConfig.PARTS}  # fmt: skip
    expected |= {"dopamine": "td", "synapse": "three_factor", "synaptic_scaling": True,
                 "habit": False, "goal_directed": False, "latent_causes": 1,
                 "topographic_map": False, "systems": False, "structure": False}  # fmt: skip
    for part in (SynapticScaling, Redish, AverageReward, Homeostatic, Habit, GoalDirected,
                 CauseInference, CalciumRule, BCMRule, TaggedSynapse, TopographicMap,
                 ComplementaryLearning, StructuralPlasticity):  # fmt: skip
        for field in dataclasses.fields(part):
            expected.setdefault(part.flat_name(field.name), field.default)
    for name, default in expected.items():
        assert name in rows, name
        assert f"`{default!r}`" in rows[name], (name, default)


def test_readme_usage_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## Usage", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("5_000", "300"), "README usage", "exec"), {})
    assert (tmp_path / "pavlovian_agent.safetensors").is_file()
    assert any((tmp_path / "runs").rglob("events.out.tfevents.*"))
