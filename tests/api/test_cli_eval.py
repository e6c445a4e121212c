"""`kb eval`: figures from a question file, as JSON or a table, with bad input refused."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app
from tests.api.test_evaluation import build_kb, write_questions

runner = CliRunner()


def test_kb_eval_reports_the_figures_as_json(tmp_path):
    build_kb().store.close()
    questions = write_questions(tmp_path / "q.jsonl")
    result = runner.invoke(app, ["eval", str(questions), "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["overall"]["n"] == 4
    assert report["overall"]["recall@1"] == 0.667
    assert report["overall"]["ask_abstain_when_unanswerable"] == 1.0
    assert report["missed"] == ["q3"]

    table = runner.invoke(app, ["eval", str(questions), "--mode", "keyword", "--no-ask"])
    assert table.exit_code == 0, table.output
    assert "mode keyword" in table.stdout and "recall@10" in table.stdout and "missed at 10: q3" in table.stdout


def test_kb_eval_refuses_an_unknown_mode_and_a_missing_file(tmp_path):
    build_kb().store.close()
    questions = write_questions(tmp_path / "q.jsonl")
    bad_mode = runner.invoke(app, ["eval", str(questions), "--mode", "psychic"])
    assert bad_mode.exit_code == 2 and "keyword" in bad_mode.output
    missing = runner.invoke(app, ["eval", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2
