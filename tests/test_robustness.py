from plasticgym.experiments.robustness import verdict_kinds


def test_verdict_kinds_reads_either_key():
    assert verdict_kinds({"verdict_kinds": {"a": "finding"}}) == {"a": "finding"}
    assert verdict_kinds({"kinds": {"b": "mechanism check"}}) == {"b": "mechanism check"}
    assert verdict_kinds({"verdicts": {"a": True}}) == {}
