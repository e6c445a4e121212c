"""Schemathesis against /openapi.json, in-process over ASGI: every operation, valid and invalid requests
(~1,500 in all), derandomized so CI sees the same cases. No 5xx, and every response matches its declared schema.

Operations are driven one by one with Hypothesis (not `schema.parametrize`): its pytest fixture loader does not
work with pytest 9, and a loop also lets the test count what was really sent."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from api.http import create_app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from tests.helpers import write_corpus

EXAMPLES = {GenerationMode.POSITIVE: 150, GenerationMode.NEGATIVE: 60}  # per operation
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    kb = KnowledgeBase(Settings(data_dir=root / "data", model="fake", corpus_dirs=[write_corpus(root / "corpus")]))
    kb.ingest()
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(kb))


def fuzz(operation, mode: GenerationMode) -> int:
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def one(case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(checks=CHECKS)

    try:
        one()
    except Unsatisfiable:  # no invalid request exists for an operation without parameters (GET /health)
        assert mode is GenerationMode.NEGATIVE and sent == 0
    return sent


def test_no_server_errors_and_responses_match_the_schema(api_schema):
    calls: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in EXAMPLES:
            calls[f"{operation.label} ({mode.value})"] = fuzz(operation, mode)
    print("\n" + "\n".join(f"{n:5d}  {label}" for label, n in calls.items()) + f"\n{sum(calls.values()):5d}  in all")
    assert sum(calls.values()) >= 1000, calls
    labels = {label.split(" (")[0] for label in calls}
    assert {"GET /search", "POST /ask", "GET /chunks/{chunk_id}", "GET /episodes/{episode_id}", "POST /reindex",
            "GET /themes/{name}"} <= labels, labels
