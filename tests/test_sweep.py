"""Sweeps: config validation, stable trial ids, resume after a kill, retries, determinism across
workers and backends."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sweep_helpers

from plasticgym.sweep import (
    SweepConfig,
    SweepConfigError,
    check_trials,
    load_config,
    run_sweep,
    summary_table,
    trial_id,
    trial_spec,
)

TESTS = Path(__file__).resolve().parent
TIMING = ["agent_steps_per_s", "wall_s"]


def valid() -> dict:
    return {"env": "plasticgym/ReversalBandit-v0", "agent": "q_learning", "seeds": 2,
            "params": {"steps": 50}}  # fmt: skip


# ------------------------------------------------------------------------------ configs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"envs": "x"}, "unknown key(s) ['envs']; allowed keys"),
        ({"env": None}, "env=None is invalid: must be a name or a non-empty list"),
        ({"agent": []}, "agent=[] is invalid"),
        ({"agent": ["plastic", "plastic"]}, "names must not repeat"),
        ({"seeds": 0}, "seeds=0 is invalid"),
        ({"seeds": "3"}, "seeds='3' is invalid: must be a count N >= 1"),
        ({"seeds": [0, -1]}, "seeds[1]=-1 is invalid"),
        ({"seeds": [1, 1]}, "seeds must not repeat"),
        ({"grid": {"learning_rate": 0.1}}, "grid.learning_rate=0.1 is invalid"),
        ({"grid": {"learning_rate": [0.1, 0.1]}}, "values must not repeat"),
        ({"params": {}}, "params.steps (env steps per agent) is required"),
        ({"params": {"steps": 0}}, "params.steps=0 is invalid"),
        ({"params": {"steps": 10, "n_agents": 1.5}}, "params.n_agents=1.5 is invalid"),
        ({"params": {"steps": 10, "learning_rate": 0.1}}, "unknown key(s) ['learning_rate']"),
        ({"params": {"steps": 10, "env_kwargs": [1]}}, "params.env_kwargs=[1] is invalid"),
        ({"params": {"steps": 10, "hyperparameters": {"gamma": 0.5}}, "grid": {"gamma": [0.1]}},
         "hyperparameter(s) ['gamma'] are both in grid and in params.hyperparameters"),
        ({"trial": "no_colon"}, "trial='no_colon' is invalid: must be 'module:function'"),
    ],
)  # fmt: skip
def test_invalid_configs_name_the_key_and_value(change, message):
    with pytest.raises(SweepConfigError) as error:
        SweepConfig.from_dict({**valid(), **change}, source="my.toml")
    assert str(error.value).startswith("my.toml: ")
    assert message in str(error.value)


def test_missing_key_and_non_table():
    with pytest.raises(SweepConfigError, match="missing key 'agent'"):
        SweepConfig.from_dict({"env": "e", "params": {"steps": 1}})
    with pytest.raises(SweepConfigError, match="must be a table of keys"):
        SweepConfig.from_dict([1, 2])


def test_config_files(tmp_path, monkeypatch):
    toml = tmp_path / "sweep.toml"
    toml.write_text('env = "plasticgym/ReversalBandit-v0"\nagent = ["q_learning"]\nseeds = 2\n'
                    "[params]\nsteps = 50\n[grid]\nlearning_rate = [0.1, 0.2]\n")  # fmt: skip
    config = load_config(toml)
    assert len(config.trials()) == 4 and config.seeds == (0, 1)
    as_json = tmp_path / "sweep.json"
    as_json.write_text(json.dumps(config.to_dict()))
    assert [t.id for t in load_config(as_json).trials()] == [t.id for t in config.trials()]
    with pytest.raises(FileNotFoundError, match="sweep config not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("env = \n")
    with pytest.raises(SweepConfigError, match=r"bad.toml: cannot parse TOML"):
        load_config(bad)
    other = tmp_path / "sweep.ini"
    other.write_text("")
    with pytest.raises(SweepConfigError, match=r"unknown config format '\.ini'"):
        load_config(other)
    yaml_file = tmp_path / "sweep.yaml"
    yaml_file.write_text("env: x\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(SweepConfigError, match=r"sweep\.yaml: reading YAML needs PyYAML.*TOML"):
        load_config(yaml_file)


def test_trials_are_checked_before_anything_runs(tmp_path):
    for change, message in [
        ({"agent": "nope"}, "unknown agent 'nope'; known agents: plastic, q_learning"),
        ({"grid": {"lr": [1]}}, "unknown hyperparameter(s) ['lr'] for QLearningAgent"),
        ({"grid": {"learning_rate": [0.1, -1]}}, "learning_rate=-1 is invalid"),
        ({"env": "plasticgym/Nope-v0"}, "unknown env id 'plasticgym/Nope-v0'"),
        ({"params": {"steps": 5, "env_kwargs": {"bogus": 1}}}, "bogus"),
    ]:
        with pytest.raises(SweepConfigError, match=r"trial [0-9a-f]{12}") as error:
            run_sweep({**valid(), **change}, tmp_path / "out")
        assert message in str(error.value)
        assert not (tmp_path / "out" / "trials").exists()


def test_the_documented_example_config_is_valid(tmp_path):
    text = (TESTS.parent / "docs" / "cli.md").read_text()
    path = tmp_path / "bandit.toml"
    path.write_text(text.split("```toml", 1)[1].split("```", 1)[0])
    config = load_config(path)
    assert len(config.trials()) == 27  # as the page says
    check_trials(config.trials(), config.trial)


def test_summary_table_means_over_seeds_best_first():
    results = pd.DataFrame({
        "status": ["done"] * 5 + ["failed"],
        "env": ["bandit"] * 6,
        "agent": ["q", "q", "s", "s", "s", "s"],
        "learning_rate": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
        "mean_reward_last20": [0.5, 0.7, 0.8, 0.8, 0.8, 99.0],
        "wall_s": [1.0, 3.0, 2.0, 2.0, 2.0, 0.0],
    })  # fmt: skip
    table = summary_table(results, ["env", "agent", "learning_rate", "absent"])
    assert list(table["agent"]) == ["s", "q"]  # best first; the failed trial is left out
    assert list(table["seeds"]) == [3, 2]
    assert table["mean_reward_last20"].tolist() == pytest.approx([0.8, 0.6])
    q = table.iloc[1]
    assert q["ci_low"] < 0.6 < q["ci_high"] and q["wall_s"] == pytest.approx(2.0)
    assert summary_table(results.assign(status="failed"), ["env"]).empty
    one_seed = summary_table(results.iloc[[0, 2]], ["agent"])  # the default: one seed each
    assert one_seed["mean_reward_last20"].tolist() == pytest.approx([0.8, 0.5])
    assert one_seed["ci_low"].isna().all()


# ------------------------------------------------------------------------------ trial ids


def test_trial_ids_are_stable_and_change_with_every_field():
    kwargs = {"env_kwargs": {"p": 1, "q": [1, 2]}, "hyperparameters": {"lr": 0.1, "g": 0.9}}
    spec = trial_spec(env="e", agent="a", seed=1, steps=10, n_agents=2, **kwargs)
    reordered = dict(reversed(spec.items()))
    reordered["hyperparameters"] = {"g": 0.9, "lr": 0.1}
    assert trial_id(reordered) == trial_id(spec)
    assert len(trial_id(spec)) == 12
    changes = {"env": "f", "agent": "b", "seed": 2, "steps": 11, "n_agents": 3,
               "env_kwargs": {"p": 2, "q": [1, 2]}, "hyperparameters": {"lr": 0.2, "g": 0.9},
               "device": "cuda", "threads": 2}  # fmt: skip
    assert set(changes) == set(spec)
    ids = {trial_id({**spec, key: value}) for key, value in changes.items()}
    assert len(ids) == len(changes) and trial_id(spec) not in ids
    assert trial_id(spec, "my.module:trial") != trial_id(spec)


def test_trial_ids_do_not_depend_on_order_or_on_other_trials():
    grid = {"learning_rate": [0.1, 0.2], "gamma": [0.0, 0.5]}
    one = SweepConfig.from_dict({**valid(), "seeds": [0, 1], "grid": grid})
    flipped = {"gamma": [0.5, 0.0], "learning_rate": [0.2, 0.1]}
    two = SweepConfig.from_dict({**valid(), "seeds": [1, 0], "grid": flipped})
    bigger = SweepConfig.from_dict({**valid(), "seeds": 5, "grid": grid})
    ids = {t.id for t in one.trials()}
    assert len(ids) == 8
    assert ids == {t.id for t in two.trials()}
    assert ids < {t.id for t in bigger.trials()}


# ------------------------------------------------------------------------------ running


def counting_config(markers: Path, **hyperparameters) -> dict:
    return {
        "env": "plasticgym/ReversalBandit-v0",
        "agent": "q_learning",
        "seeds": 2,
        "trial": "sweep_helpers:counting_trial",
        "params": {"steps": 1, "hyperparameters": {"markers": str(markers), **hyperparameters}},
        "grid": {"x": [0, 1, 2]},
    }


def test_a_killed_sweep_resumes_and_runs_every_trial_exactly_once(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "sweep"
    config = counting_config(markers, crash_once_at=1)
    script = (
        "import json, sys; from plasticgym.sweep import run_sweep; "
        "run_sweep(json.loads(sys.argv[1]), sys.argv[2])"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config), str(out)],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 3, killed.stderr  # the process died inside the third trial
    trials = SweepConfig.from_dict(config).trials()
    finished = [t.id for t in trials if (out / "trials" / t.id / "result.json").is_file()]
    assert finished == [t.id for t in trials[:2]]
    partial = out / "trials" / trials[2].id
    assert (partial / "partial.txt").is_file() and not (partial / "result.json").exists()

    summary = run_sweep(config, out)
    assert summary.skipped == finished
    assert summary.completed == [t.id for t in trials[2:]] and not summary.failed
    done = sweep_helpers.count(markers, "done")
    assert done == {f"x{x}-s{s}": 1 for x in range(3) for s in range(2)}  # each exactly once
    started = sweep_helpers.count(markers, "start")
    assert started.pop("x1-s0") == 2  # killed, then run again from a clean folder
    assert set(started.values()) == {1}
    results = pd.read_parquet(out / "results.parquet")
    assert list(results["id"]) == [t.id for t in trials]
    assert (results["status"] == "done").all()
    assert list(results["value"]) == [x * 10 + s for x in range(3) for s in range(2)]
    assert json.loads((out / "sweep.json").read_text())["config"]["seeds"] == [0, 1]

    again = run_sweep(config, out)  # nothing left to do
    assert len(again.skipped) == 6 and not again.completed
    assert sweep_helpers.count(markers, "done") == done


def test_a_failing_trial_is_retried_then_reported_while_the_others_finish(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "sweep"
    summary = run_sweep(counting_config(markers, fail_at=2), out, max_retries=2)
    assert sweep_helpers.count(markers, "start")["x2-s0"] == 3  # 1 + max_retries
    assert sweep_helpers.count(markers, "done") == {f"x{x}-s{s}": 1 for x in (0, 1) for s in (0, 1)}
    assert len(summary.failed) == 2 and len(summary.completed) == 4
    failures = json.loads((out / "failures.json").read_text())
    assert {f["id"] for f in failures} == set(summary.failed)
    for failure in failures:
        assert failure["error"] == "RuntimeError: x=2 always fails"
        assert failure["attempts"] == 3 and failure["spec"]["hyperparameters"]["x"] == 2
    results = pd.read_parquet(out / "results.parquet").set_index("id")
    assert list(results.loc[list(summary.failed), "status"]) == ["failed", "failed"]
    assert results.loc[list(summary.failed), "value"].isna().all()
    assert (results.loc[summary.completed, "status"] == "done").all()


def test_a_dead_worker_process_costs_only_its_own_trial_an_attempt(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    summary = run_sweep(counting_config(markers, crash_once_at=0), tmp_path / "sweep",
                        workers=2, max_retries=1)  # fmt: skip
    assert (markers / "crashed").exists()
    assert not summary.failed and len(summary.completed) == 6
    assert sweep_helpers.count(markers, "done") == {f"x{x}-s{s}": 1 for x in range(3)
                                                    for s in range(2)}  # fmt: skip


def test_with_one_isolated_worker_a_dying_trial_costs_only_its_own_attempt(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    summary = run_sweep(counting_config(markers, crash_once_at=0), tmp_path / "sweep",
                        workers=1, max_retries=1, isolate=True)  # fmt: skip
    assert (markers / "crashed").exists()
    assert not summary.failed and len(summary.completed) == 6
    assert sweep_helpers.count(markers, "done") == {f"x{x}-s{s}": 1 for x in range(3)
                                                    for s in range(2)}  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")  # a zombie (dead, not yet reaped) is not alive
    return not (status.exists() and "\nState:\tZ" in status.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_workers_die_with_a_killed_driver_and_a_restart_runs_each_trial_once(tmp_path, signal_name):
    import signal
    import time

    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "sweep"
    config = {
        "env": "plasticgym/ReversalBandit-v0", "agent": "q_learning", "seeds": 1,
        "trial": "sweep_helpers:sleepy_trial",
        "params": {"steps": 1, "hyperparameters": {"markers": str(markers), "sleep": 60}},
        "grid": {"x": [0, 1]},
    }  # fmt: skip
    script = (
        "import json, sys; from plasticgym.sweep import run_sweep; "
        "run_sweep(json.loads(sys.argv[1]), sys.argv[2], workers=2)"
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(config), str(out)],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )
    deadline = time.monotonic() + 90
    while len(list(markers.glob("pid-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = [int(path.read_text()) for path in markers.glob("pid-*")]
    assert len(pids) == 2, "the workers did not start"
    driver.send_signal(getattr(signal, signal_name))
    driver.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a worker outlived its driver"
    for path in markers.glob("pid-*"):
        path.unlink()
    config["params"]["hyperparameters"]["sleep"] = 0
    summary = run_sweep(config, out, workers=2)
    assert len(summary.completed) == 2 and not summary.failed
    assert len(list(markers.glob("pid-*"))) == 2  # each trial ran once more, not twice


def test_a_claimed_trial_is_not_run_beside_its_holder(tmp_path):
    from plasticgym.sweep import TrialBusyError, claim_trial, run_trial_once

    markers = tmp_path / "markers"
    markers.mkdir()
    item = SweepConfig.from_dict(counting_config(markers)).trials()[0]
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from plasticgym.sweep import claim_trial\n"
         "with claim_trial(sys.argv[1], sys.argv[2]):\n"
         "    print('held', flush=True); time.sleep(60)",
         str(tmp_path / "trials"), item.id],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TrialBusyError, match="being run by another process"):
            run_trial_once(item, tmp_path / "trials", "sweep_helpers:counting_trial")
        assert not sweep_helpers.count(markers, "start")
    finally:
        holder.kill()
        holder.wait()
    with claim_trial(tmp_path / "trials", item.id, wait_s=5):  # released by the kernel
        pass


REAL = {
    "env": "plasticgym/ReversalBandit-v0",
    "agent": ["q_learning", "td_actor_critic"],
    "seeds": [0, 1],
    "params": {"steps": 200, "n_agents": 3},
}


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The REAL sweep run in this process (workers=1)."""
    summary = run_sweep(REAL, tmp_path_factory.mktemp("in_process"))
    assert len(summary.completed) == 4 and not summary.failed
    return summary


def test_real_trials_write_records_checkpoints_and_metrics(in_process):
    results = in_process.results
    assert set(results["agent"]) == {"q_learning", "td_actor_critic"}
    for trial in results["id"]:
        for name in ("records.parquet", "agent.safetensors", "result.json", "spec.json"):
            assert (in_process.out_dir / "trials" / trial / name).is_file()
    for column in ("mean_reward", "mean_reward_ci_low", "mean_reward_last20", *TIMING):
        assert results[column].notna().all(), column
    assert results["mean_reward"].between(0, 1).all()
    records = pd.read_parquet(in_process.out_dir / "trials" / results["id"][0] / "records.parquet")
    assert len(records) == 3 * 200


def test_two_workers_give_the_same_results(in_process, tmp_path):
    results = run_sweep(REAL, tmp_path / "out", workers=2).results
    expected = in_process.results
    pd.testing.assert_frame_equal(results.drop(columns=TIMING), expected.drop(columns=TIMING))


def test_ray_backend_gives_the_same_results_and_reports_failures(in_process, tmp_path):
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    config = {**REAL, "agent": "q_learning", "seeds": [0, 1, 99],
              "trial": "sweep_helpers:failing_seed_trial"}  # fmt: skip
    try:
        summary = run_sweep(config, tmp_path / "out", backend="ray", workers=2, max_retries=1)
    finally:
        ray.shutdown()
    assert len(summary.completed) == 2
    assert list(summary.failed.values()) == ["RuntimeError: seed 99 always fails"]
    failures = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert [f["attempts"] for f in failures] == [2]  # 1 + max_retries
    done = summary.results[summary.results["status"] == "done"]
    expected = in_process.results.query("agent == 'q_learning'")
    different = ["id", *TIMING]  # ids hash the trial function, which differs here
    pd.testing.assert_frame_equal(
        done.drop(columns=different).reset_index(drop=True),
        expected.drop(columns=different).reset_index(drop=True),
    )
