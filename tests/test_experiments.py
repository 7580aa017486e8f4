"""The experiment framework: registry, report folder, CLI verbs, verdicts computed from the
records (corrupted records flip them), and the statistics the verdicts use (golden values)."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pandas as pd
import pytest
from quick_runs import quick_run as _quick_run
from scipy import special, stats

from plasticgym.cli import main
from plasticgym.experiments import EXPERIMENTS, available_experiments, load_experiment
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    VERDICT_KINDS,
    analyse_records,
    kind_counts,
    labelled,
    markdown_table,
    run_experiment,
)
from plasticgym.experiments.stats import (
    logistic_regression,
    mean_ci,
    regression_slope_ci,
    slopes,
)
from plasticgym.records import load_records

AVAILABLE = [name for name, path in EXPERIMENTS.items() if importlib.util.find_spec(path)]
# aging is not in MUST_PASS: several of its findings fail at some seeds of the quick run (see
# docs/experiments.md; a power analysis there: enrichment needs ~420 agents per cohort, and a
# pre-registered 512-per-cohort run passes 12 of its 13 verdicts); with two_step_agent="plastic"
# the young agents show no model-based signature; with "plastic_planner" (issue 14) they do, but
# old_less_model_based fails at quick seeds 0, 1, 2 and old_shifts_to_model_free everywhere
# ("plastic_planner_dopamine": it passes only at 512 per cohort), so the default stays the
# tabular model-based learner. map_plasticity is not
# either: its quick performance_stays fails at seeds 0, 1 and 2 (too few pairing trials for
# every agent to learn; the full version passes), and the Reed protocol's three findings
# (expansion_speeds_learning and its two no-speed-up controls) fail at quick seeds 0, 1, 2 and
# full seeds 0, 1: pairing before training does not speed this learner (docs/experiments.md);
# the matched delayed control (no_speedup_after_renormalisation_matched) fails at quick seeds
# 1, 2 on one bistable agent of 12 each (passes at quick 0 and full 0, 1, 2).
# spine_turnover is not either: in its third round (issue 14; competition_rate 20 on the
# unmarked spines) preexisting_spines_removed passes at quick seeds 0, 2 and fails at 1
# (+0.013 [-0.001, +0.028]), training_spines_kept fails at quick seeds 0, 2,
# no_keeping_without_weight_dependence and the two marker checks fail at quick seeds 0, 1, 2
# (6 of 10 at each; full: 9 of 10 at seeds 0, 1, 2; see docs/experiments.md).
# distal_reward is not either: its quick version simulates 30 s, far too short for the rewarded
# synapse to approach the cap, so rewarded_synapse_potentiates and rewarded_synapse_near_cap fail
# there by design (its mechanism checks are asserted in tests/test_distal_reward_experiment.py).
# homeostasis is not either: at the agent's default scaling, three of its findings fail at
# seeds 0, 1, 2 of the quick run (scaling_halves_the_runaway, rates_near_target_with_scaling,
# scaling_slower_than_learning), rate_feedback_speeds_growth at seeds 0, 1 and
# rate_post_runs_away_further_than_chosen at seed 2; of its parts 5-6 (issue 15: in-vivo
# deprivation while learning, the offset against eta, an integral term)
# rates_return_while_learning, task_learned_while_deprived,
# in_vivo_scaling_up_and_multiplicative and integral_scaling_holds_rates_near_target fail at
# seeds 0, 1, 2 and offset_falls_with_eta at seed 0 (see docs/experiments.md).
# spiking_tasks passes all 9 quick verdicts at seeds 0, 1 and 2.
# consolidation_behaviour passes all 9 quick (and full) verdicts at seeds 0, 1 and 2 since
# strong training is the weak 10-min session with a 10x reward (issue 13; before, strong was
# 1 h at the weak reward, which tags too little to trigger synthesis: now long_training, a
# verdict that it is not kept; docs/experiments.md).
MUST_PASS = {"rpe_transfer", "two_step", "skill", "compare", "addiction",
             "habit_devaluation", "tag_capture", "stdp_window",
             "systems_consolidation", "spiking_tasks", "consolidation_behaviour"}  # fmt: skip
"""Experiments whose quick version shows every signature (the others may report a signature
the model is known not to show as a failed verdict), except those in EXPECTED_FAILURES."""
EXPECTED_FAILURES = {
    # TOST of |b_interaction| < 0.1, less than half the model-based learner's own interaction
    # (+0.22): SARSA(lambda = 0.9)'s interaction is about -0.08 (lambda < 1 bootstraps from
    # the second stage) and fails at seed 0, passes at seeds 1 and 2 (docs: "Robustness").
    "two_step": {"sarsa_lambda_no_interaction"},
    # Heathcote, Brown & Mewhort 2000: the exponential fits individual practice curves better
    # than the power law; here ~96% of the agents prefer it by AIC, so the verdict fails.
    # The memory variant (history=0, issue 15): with the previous targets held only in the
    # presynaptic traces the agents show no sequence benefit (quick, seed 0: accuracy -0.01
    # [-0.03, +0.02], latency -0.72 [-1.24, -0.20] steps; docs/experiments.md).
    "skill": {"power_law_preferred", "memory_sequence_more_accurate", "memory_sequence_faster"},
}
"""Verdicts of MUST_PASS experiments that may fail, with why (each measured, not tuned)."""
FIRST_WAVE = {"rpe_transfer", "habit_devaluation", "two_step", "addiction", "skill",
              "homeostasis"}  # fmt: skip
"""Experiments whose verdicts carry the shared labels (``verdict_kinds``, report.labelled)."""


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def test_registry_names_every_planned_experiment():
    assert set(EXPERIMENTS) == {"rpe_transfer", "habit_devaluation", "two_step", "addiction",
                                "skill", "homeostasis", "compare", "tag_capture",
                                "stdp_window", "consolidation_behaviour",
                                "map_plasticity", "systems_consolidation",
                                "aging", "spine_turnover", "distal_reward",
                                "spiking_tasks", "tuned_compare"}  # fmt: skip
    assert {"rpe_transfer", "two_step", "homeostasis"} <= set(AVAILABLE)
    assert list(available_experiments()) == AVAILABLE


def test_unknown_and_unwritten_experiments_are_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown experiment 'nope'; known experiments: "
                                         r"rpe_transfer, habit_devaluation"):  # fmt: skip
        load_experiment("nope")
    monkeypatch.setitem(EXPERIMENTS, "later", "plasticgym.experiments.not_written_yet")
    with pytest.raises(ValueError, match="experiment 'later' is not available yet"):
        load_experiment("later")
    assert "later" not in available_experiments()


@pytest.mark.parametrize("name", AVAILABLE)
def test_every_module_follows_the_interface(name):
    module = load_experiment(name)
    assert name == module.NAME and "\n" not in module.DESCRIPTION
    quick, full = module.Config.quick(), module.Config()
    for config in (quick, full):
        assert config.n_agents >= 2 and isinstance(config.seed, int) and config.device == "cpu"
    assert module.Config.quick(seed=7).seed == 7
    with pytest.raises(Exception, match=r"frozen|cannot assign"):
        quick.seed = 1


# --------------------------------------------------------------------------------------------
# Every experiment's quick version through the CLI: files, verdicts, report
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", AVAILABLE)
def test_quick_version_writes_its_report_and_passes(name, tmp_path_factory):
    out, code, printed = _quick_run(name, tmp_path_factory)
    result = json.loads((out / "result.json").read_text())
    failed = {k: result["lines"][k] for k, ok in result["verdicts"].items() if not ok}
    assert code == (1 if failed else 0) and result["passed"] == (not failed), printed
    if name in MUST_PASS:
        assert set(failed) <= EXPECTED_FAILURES.get(name, set()), (failed, printed)
    assert result["verdicts"] and all(isinstance(v, bool) for v in result["verdicts"].values())
    assert set(result["lines"]) == set(result["verdicts"]) and result["table"]
    assert json.loads((out / "config.json").read_text())["n_agents"] >= 2
    tables = sorted((out / "records").glob("*.parquet"))
    assert tables and all(len(load_records(path)) for path in tables)
    report = (out / "report.md").read_text()
    module = load_experiment(name)
    assert report.startswith(f"# {name}: {module.DESCRIPTION}")
    for verdict, line in result["lines"].items():
        mark = "PASS" if result["verdicts"][verdict] else "FAIL"
        assert f"- [{mark}] {verdict}: {line}" in report
        assert f"- [{mark}] {verdict}: {line}" in printed
    figures = [line.split("](", 1)[1].rstrip(")") for line in report.splitlines()
               if line.startswith("![")]  # fmt: skip
    assert figures and all((out / figure).is_file() for figure in figures)
    assert all((out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for figure in figures)
    header = "| " + " | ".join(result["table"][0]) + " |"
    assert '"seed":' in report and header in report
    assert f"report: {out / 'report.md'}" in printed


@pytest.mark.parametrize("name", sorted(FIRST_WAVE))
def test_verdicts_are_labelled_finding_or_mechanism_check(name, tmp_path_factory):
    """Every verdict has a kind, its line starts with it, the experiment has at least one
    finding, and the report counts them."""
    out, _, _ = _quick_run(name, tmp_path_factory)
    result = json.loads((out / "result.json").read_text())
    kinds = result["verdict_kinds"]
    assert set(kinds) == set(result["verdicts"]) and set(kinds.values()) <= set(VERDICT_KINDS)
    assert FINDING in kinds.values()
    for verdict, line in result["lines"].items():
        assert line.startswith(f"({kinds[verdict]}) "), line
    assert kind_counts(result) in (out / "report.md").read_text()


def test_labelled_and_kind_counts():
    lines = {"a": "x", "b": "y"}
    kinds = {"a": FINDING, "b": MECHANISM_CHECK}
    assert labelled(lines, kinds) == {"a": "(finding) x", "b": "(mechanism check) y"}
    result = {"verdicts": {"a": False, "b": True}, "verdict_kinds": kinds}
    assert kind_counts(result) == "0 of 1 findings and 1 of 1 mechanism checks pass"
    assert kind_counts({"verdicts": {"a": True}}) == ""
    with pytest.raises(ValueError, match=r"do not label exactly the verdicts \['a', 'b'\]"):
        labelled(lines, {"a": FINDING})
    with pytest.raises(ValueError, match=r"\{'b': 'guess'\} are invalid"):
        labelled(lines, {"a": FINDING, "b": "guess"})


@pytest.mark.parametrize("name", AVAILABLE)
def test_verdicts_are_recomputed_from_the_saved_records(name, tmp_path_factory):
    out, _, _ = _quick_run(name, tmp_path_factory)
    saved = json.loads((out / "result.json").read_text())["verdicts"]
    assert analyse_records(name, out)["verdicts"] == saved


def _corrupted(name: str, tmp_path_factory, corrupt) -> dict[str, bool]:
    """The verdicts of ``name``'s quick run after ``corrupt(records)`` changed its records."""
    out, _, _ = _quick_run(name, tmp_path_factory)
    module = load_experiment(name)
    fields = json.loads((out / "config.json").read_text())
    config = module.Config(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in fields.items()})  # fmt: skip
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    corrupt(records)
    return module.analyse(records, config)["verdicts"]


def test_rpe_transfer_verdicts_flip_with_the_records(tmp_path_factory):
    def flip_probability_dopamine(records):
        records["probability"]["dopamine"] *= -1.0

    verdicts = _corrupted("rpe_transfer", tmp_path_factory, flip_probability_dopamine)
    assert not verdicts["cue_rises_with_probability"]
    assert not verdicts["reward_falls_with_probability"]
    assert verdicts["at_cue_late"]  # the session's records were left alone


def test_two_step_verdicts_flip_with_the_records(tmp_path_factory):
    def swap_transitions(records):
        """Relabel common as rare and back: the model-based interaction changes sign."""
        trials = records["trials"]
        trials["transition"] = trials["transition"].map({"common": "rare", "rare": "common"})

    verdicts = _corrupted("two_step", tmp_path_factory, swap_transitions)
    assert not verdicts["model_based_interaction"]

    def swap_rewards(records):
        records["trials"]["rewarded"] = ~records["trials"]["rewarded"].astype(bool)

    verdicts = _corrupted("two_step", tmp_path_factory, swap_rewards)
    assert not any(v for k, v in verdicts.items() if k.endswith("_reward_effect")), verdicts


def test_two_step_no_interaction_needs_the_tost_and_the_contrast(tmp_path_factory, monkeypatch):
    """A margin too narrow for any interval fails every TOST; a margin above the model-based
    interaction's interval fails the contrast (the margin must be smaller than the effect)."""
    from plasticgym.experiments import two_step

    passed = _corrupted("two_step", tmp_path_factory, lambda records: None)
    assert passed["q_lambda_no_interaction"]
    for margin in (0.001, 0.5):
        monkeypatch.setattr(two_step, "NO_INTERACTION_MARGIN", margin)
        verdicts = _corrupted("two_step", tmp_path_factory, lambda records: None)
        assert not any(v for k, v in verdicts.items() if k.endswith("_no_interaction"))
        assert verdicts["q_lambda_reward_effect"] and verdicts["model_based_interaction"]


def test_habit_devaluation_verdicts_flip_with_the_records(tmp_path_factory):
    def swap_schedules(records):
        """Relabel the single-lever ratio groups as interval and back: the schedule effect
        changes sign; the two-lever verdicts are left alone."""
        single = records["single_lever"]
        single["schedule"] = single["schedule"].map({"ratio": "interval", "interval": "ratio"})

    verdicts = _corrupted("habit_devaluation", tmp_path_factory, swap_schedules)
    assert not verdicts["interval_more_habitual"]
    assert verdicts["goal_directed_after_moderate"] and verdicts["habitual_after_extended"]

    def ratio_control_was_devalued(records):
        """Give the ratio control group the devalued group's test: no devaluation effect on
        ratio, so no schedule effect either."""
        single = records["single_lever"]
        ratio = single["schedule"] == "ratio"
        single.loc[ratio, "devalued"] = True

    verdicts = _corrupted("habit_devaluation", tmp_path_factory, ratio_control_was_devalued)
    assert not verdicts["interval_more_habitual"]


def test_homeostasis_verdicts_flip_with_the_records(tmp_path_factory):
    def reverse_time_constants(records):
        recovery = records["recovery"]
        taus = sorted(recovery["tau"].unique())
        recovery["tau"] = recovery["tau"].map(dict(zip(taus, reversed(taus), strict=True)))

    verdicts = _corrupted("homeostasis", tmp_path_factory, reverse_time_constants)
    assert not verdicts["recovery_slows_with_tau"]

    def additive_change(records):
        weights = records["weights"]
        weights["after"] = weights["before"] + 0.05 * (1 + weights["synapse"] % 3)

    verdicts = _corrupted("homeostasis", tmp_path_factory, additive_change)
    assert not verdicts["scaling_is_multiplicative"]

    def no_scaling(records):
        """The scaled population's rates replaced by those of the unscaled one."""
        learning = records["learning"]
        rate = learning["post"] == "rate"
        off = learning[rate & ~learning["scaling"]].set_index(["agent", "step"])["rate"]
        on = rate & learning["scaling"]
        keys = pd.MultiIndex.from_frame(learning.loc[on, ["agent", "step"]])
        learning.loc[on, "rate"] = off.reindex(keys).to_numpy()

    verdicts = _corrupted("homeostasis", tmp_path_factory, no_scaling)
    assert not verdicts["rates_stop_growing_with_scaling"]
    assert not verdicts["scaling_halves_the_runaway"]
    assert verdicts["rates_run_away_without_scaling"]

    def chosen_runs_away_as_far(records):
        learning = records["learning"]
        rate = learning[(learning["post"] == "rate") & ~learning["scaling"]]
        chosen = learning["post"] == "chosen"
        by_agent_step = rate.set_index(["agent", "step"])["rate"]
        keys = pd.MultiIndex.from_frame(learning.loc[chosen, ["agent", "step"]])
        learning.loc[chosen, "rate"] = by_agent_step.reindex(keys).to_numpy()

    verdicts = _corrupted("homeostasis", tmp_path_factory, chosen_runs_away_as_far)
    assert not verdicts["rate_post_runs_away_further_than_chosen"]

    def additive_culture(records):
        weights = records["culture_weights"]
        weights["ttx"] = weights["control"] + 0.05

    verdicts = _corrupted("homeostasis", tmp_path_factory, additive_culture)
    assert not verdicts["culture_scaling_is_multiplicative"]
    assert verdicts["recovery_slows_with_tau"]  # the other parts' records were left alone

    def _copy_group(records, source, target):
        """The ``target`` group's window rates replaced by the paired ``source`` group's."""
        protocols = records["protocols"]
        rates = protocols[protocols["group"] == source].set_index(["pair", "step"])["rate"]
        rows = protocols["group"] == target
        keys = pd.MultiIndex.from_frame(protocols.loc[rows, ["pair", "step"]])
        protocols.loc[rows, "rate"] = rates.reindex(keys).to_numpy()

    def no_deprivation(records):
        for suffix in ("scaling", "noscaling"):
            _copy_group(records, f"control_{suffix}", f"deprived_{suffix}")

    verdicts = _corrupted("homeostasis", tmp_path_factory, no_deprivation)
    assert not verdicts["deprivation_lowers_rates"]
    assert not verdicts["rates_return_while_learning"]

    def offsets_ignore_eta(records):
        _copy_group(records, "control_scaling", "sweep")

    verdicts = _corrupted("homeostasis", tmp_path_factory, offsets_ignore_eta)
    assert not verdicts["offset_falls_with_eta"]

    def integral_is_proportional(records):
        _copy_group(records, "control_scaling", "integral")

    verdicts = _corrupted("homeostasis", tmp_path_factory, integral_is_proportional)
    assert not verdicts["integral_scaling_shrinks_the_offset"]


def test_skill_verdicts_flip_with_the_records(tmp_path_factory):
    def swap_rotated_units(records):
        records["tuning"]["rotated"] = ~records["tuning"]["rotated"].astype(bool)

    verdicts = _corrupted("skill", tmp_path_factory, swap_rotated_units)
    assert not verdicts["rotated_units_retune_more"]
    assert not verdicts["retuning_follows_the_rotation"]

    def never_correct_in_sequence_blocks(records):
        srt = records["srt"]
        srt["correct"] = np.where(srt["block_type"] == "sequence", False, srt["correct"])

    verdicts = _corrupted("skill", tmp_path_factory, never_correct_in_sequence_blocks)
    assert not verdicts["sequence_more_accurate"] and verdicts["reaching_recovers"]
    assert verdicts["latency_falls_with_practice"]  # latencies left alone

    def practice_slows_responses(records):
        srt = records["srt"]
        ends = srt[(srt["latency"] > 0) & (srt["phase"] == "training")]
        reversed_ = ends.groupby("agent")["latency"].transform(lambda x: x.to_numpy()[::-1])
        srt.loc[ends.index, "latency"] = reversed_

    verdicts = _corrupted("skill", tmp_path_factory, practice_slows_responses)
    assert not verdicts["latency_falls_with_practice"] and verdicts["sequence_more_accurate"]

    def power_law_latencies(records):
        """Each agent's training latencies replaced by a power law of its trial: the power
        law is then preferred (the verdict is not fixed to fail)."""
        srt = records["srt"]
        srt["latency"] = srt["latency"].astype(float)
        ends = srt[(srt["latency"] > 0) & (srt["phase"] == "training")]
        practice = ends["trial"] - ends.groupby("agent")["trial"].transform("min") + 1
        noise = 0.01 * np.sin(ends["agent"].to_numpy() + practice.to_numpy())
        srt.loc[ends.index, "latency"] = 1.0 + 3.0 * practice.to_numpy() ** -0.7 + noise

    verdicts = _corrupted("skill", tmp_path_factory, power_law_latencies)
    assert verdicts["power_law_preferred"] and verdicts["latency_falls_with_practice"]


def test_information_criterion_golden():
    """AIC = n ln(RSS / n) + 2k, BIC = n ln(RSS / n) + k ln n, by hand for RSS = 0.5 + 0.5."""
    from plasticgym.experiments.skill import information_criterion

    y, fitted = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.5, 3.5])
    assert information_criterion(y, fitted, 3, "aic") == pytest.approx(4 * math.log(0.5 / 4) + 6)
    assert information_criterion(y, fitted, 3, "bic") == pytest.approx(
        4 * math.log(0.5 / 4) + 3 * math.log(4)
    )
    assert math.isnan(information_criterion(y, fitted * np.nan, 3, "aic"))


# --------------------------------------------------------------------------------------------
# run_experiment in Python; command-line verbs and errors
# --------------------------------------------------------------------------------------------


def test_run_experiment_overrides_and_bad_options(tmp_path):
    with pytest.raises(ValueError, match=r"seeds=1 is invalid"):
        run_experiment("two_step", quick=True, seeds=1, out=tmp_path)
    with pytest.raises(ValueError, match=r"two_step config has no field\(s\) \['nope'\]"):
        run_experiment("two_step", quick=True, out=tmp_path, nope=3)
    result, paths = run_experiment("two_step", quick=True, seeds=4, out=tmp_path, seed=5,
                                   progress_bar=False, kinds=("q_lambda",), steps=40)  # fmt: skip
    config = json.loads(paths.config.read_text())
    assert config["n_agents"] == 4 and config["seed"] == 5 and config["kinds"] == ["q_lambda"]
    assert set(paths.records) == {"trials"} and paths.report.is_file()
    assert set(result["verdicts"]) == {"q_lambda_reward_effect", "q_lambda_no_interaction"}


def test_experiment_verbs_have_help(capsys):
    for verb in ("experiments", "experiment", "compare"):
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "usage: plasticgym " + verb in text
        if verb != "experiments":
            assert "--quick" in text and "--seeds" in text and "--no-progress" in text


def test_experiments_lists_the_available_ones(capsys):
    assert main(["experiments"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == AVAILABLE
    assert all(len(line.split()) > 3 for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiment", "nope"], "unknown experiment 'nope'; known experiments: rpe_transfer"),
        (["experiment", "two_step", "--seeds", "1"], "seeds=1 is invalid"),
        (["experiment", "two_step", "--threads", "0"], "threads=0 is invalid"),
    ],
)
def test_experiment_user_errors_are_one_line_with_exit_code_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plasticgym: error:") and message in err and err.count("\n") == 1


def test_a_failed_verdict_exits_with_1_and_is_reported(tmp_path, capsys, monkeypatch):
    from plasticgym.experiments import two_step

    analyse = two_step.analyse

    def fail_one(records, config):
        result = analyse(records, config)
        result["verdicts"]["model_based_interaction"] = False
        return result

    monkeypatch.setattr(two_step, "analyse", fail_one)
    out = tmp_path / "fail"
    code = main(["experiment", "two_step", "--quick", "--seeds", "4", "--out", str(out),
                 "--no-progress"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 1
    assert "- [FAIL] model_based_interaction:" in printed
    assert "- [FAIL] model_based_interaction:" in (out / "report.md").read_text()
    assert not json.loads((out / "result.json").read_text())["passed"]


# --------------------------------------------------------------------------------------------
# Statistics: golden values
# --------------------------------------------------------------------------------------------


def test_logistic_regression_golden_saturated_two_by_two():
    """With +-1 codes and their product the model is saturated: its fitted probabilities are
    the cells' frequencies, so the coefficients are averages of the cells' logits, by hand:
    cells (r, t) -> P(stay): (+,+) 8/10, (+,-) 6/10, (-,+) 3/10, (-,-) 5/10."""
    cells = {(1, 1): (8, 10), (1, -1): (6, 10), (-1, 1): (3, 10), (-1, -1): (5, 10)}
    X, y = [], []
    for (r, t), (stays, n) in cells.items():
        X += [[1.0, r, t, r * t]] * n
        y += [1.0] * stays + [0.0] * (n - stays)
    fit = logistic_regression(np.array(X), np.array(y))
    logit = {cell: math.log(k / (n - k)) for cell, (k, n) in cells.items()}
    l_pp, l_pm, l_mp, l_mm = logit[1, 1], logit[1, -1], logit[-1, 1], logit[-1, -1]
    expected = [
        (l_pp + l_pm + l_mp + l_mm) / 4,  # intercept
        (l_pp + l_pm - l_mp - l_mm) / 4,  # reward
        (l_pp - l_pm + l_mp - l_mm) / 4,  # transition
        (l_pp - l_pm - l_mp + l_mm) / 4,  # interaction
    ]
    assert fit.converged
    np.testing.assert_allclose(fit.coef, expected, atol=1e-9)
    # l_mm = log(5/5) = 0, l_pp = log 4: e.g. reward = (log 4 + log 1.5 - log(3/7)) / 4
    assert fit.coef[1] == pytest.approx((math.log(4) + math.log(1.5) - math.log(3 / 7)) / 4)
    # standard errors of a saturated model: sqrt(sum_cells 1 / (n p (1 - p))) / 4
    se = math.sqrt(sum(n / (k * (n - k)) for k, n in cells.values())) / 4
    np.testing.assert_allclose(fit.se, se, rtol=1e-6)


def test_logistic_regression_recovers_known_coefficients_and_stays_finite_when_separated():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(20_000), rng.choice([-1.0, 1.0], (20_000, 2))])
    beta = np.array([0.3, 1.0, -0.5])
    y = (rng.random(20_000) < special.expit(X @ beta)).astype(float)
    fit = logistic_regression(X, y)
    assert np.all(np.abs(fit.coef - beta) < 4 * fit.se), (fit.coef, fit.se)
    separated = np.column_stack([np.ones(40), np.repeat([-1.0, 1.0], 20)])
    y_sep = np.repeat([0.0, 1.0], 20)
    ridge = logistic_regression(separated, y_sep, l2=0.1)
    assert ridge.converged and np.isfinite(ridge.coef).all() and ridge.coef[1] > 1
    with pytest.raises(ValueError, match="0/1"):
        logistic_regression(separated, y_sep * 2)


def test_slopes_mean_ci_and_regression_slope_golden():
    # rows: y = 2x + 1 and y = -x (NaN ignored); x = 0, 1, 2
    table = np.array([[1.0, 3.0, 5.0], [0.0, np.nan, -2.0]])
    np.testing.assert_allclose(slopes([0.0, 1.0, 2.0], table), [2.0, -1.0])
    assert np.isnan(slopes([0.0, 1.0], [[1.0, np.nan]])[0])
    mean, _, high = mean_ci([1.0, 2.0, 3.0])  # sem = 1 / sqrt(3), t(0.975, 2) = 4.3027
    assert mean == 2.0 and high - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.1, 0.9, 2.2, 2.8])
    slope, _, high = regression_slope_ci(x, y)
    fit = stats.linregress(x, y)
    assert slope == pytest.approx(fit.slope)
    assert high - slope == pytest.approx(stats.t.ppf(0.975, 2) * fit.stderr)


def test_markdown_table():
    table = pd.DataFrame({"name": ["a|b", "c"], "mean": [0.123456, float("nan")], "n": [3, 4]})
    assert markdown_table(table) == (
        "| name | mean | n |\n|---|---|---|\n| a\\|b | 0.1235 | 3 |\n| c |  | 4 |"
    )


def test_robustness_variants_change_one_field_at_a_time():
    from plasticgym.experiments.robustness import variants

    runs = variants([0, 1], ["steps=280,520", "iti=(10, 20),(30, 40)", "mode=td"])
    assert runs == [
        ("seed 0", {"seed": 0}), ("seed 1", {"seed": 1}),
        ("steps=280", {"seed": 0, "steps": 280}), ("steps=520", {"seed": 0, "steps": 520}),
        ("iti=(10, 20)", {"seed": 0, "iti": (10, 20)}),
        ("iti=(30, 40)", {"seed": 0, "iti": (30, 40)}),
        ("mode=td", {"seed": 0, "mode": "td"}),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="--vary 'steps' is invalid"):
        variants([0], ["steps"])
