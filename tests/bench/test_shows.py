"""The Changelog shows' benchmark: each question set asks only about the episodes its show's store is built from,
and none of them counts as a default-corpus tuning set."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def shows(bench_module):
    return bench_module("shows", "_env")


def test_every_show_set_asks_only_about_the_episodes_its_store_holds(shows):
    env = shows.__dict__
    sets = {p.stem.removeprefix("questions_changelog_"): p for p in env["RESULTS"].parent.joinpath("data").glob(
        "questions_changelog_*.jsonl")}
    assert sets and set(sets) == set(shows.SHOWS)
    for key, path in sets.items():
        _, names = shows.SHOWS[key]
        asked = {g["file"] for line in path.read_text().splitlines() for g in json.loads(line)["gold"]}
        assert asked and asked <= set(names), (key, sorted(asked - set(names)))


def test_show_sets_are_not_default_corpus_tuning_sets(bench_module):
    env = bench_module("_env")
    assert env.SHOW_SETS and not set(env.SHOW_SETS) & set(env.TUNING_SETS)
    assert not set(env.SHOW_SETS) & set(env.FRESH_SETS)
