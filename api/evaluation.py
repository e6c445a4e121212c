"""In-process evaluation over a question set: the figures of the shared score.py, without a server.

Why: score.py judges the HTTP API; this computes the same recall@k, MRR@10, speaker/time correctness and
abstention figures directly on a KnowledgeBase, so a retrieval change can be measured in seconds (`kb eval`).
The gold-matching rule is score.py's, reimplemented here (the evaluation folder is not part of the product):
a result hits a gold quote when it contains, in order, a run of the quote's words at least half the quote long
and at least 6 words (or the whole quote when shorter), ignoring case, punctuation, quote styles and
inline [hh:mm:ss] markers.
"""
from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from core.models import Hit

if TYPE_CHECKING:
    from core.knowledge_base import KnowledgeBase
    from search.retrieval import Mode

_MARKER = re.compile(r"\[\d{1,2}:\d{2}(?::\d{2})?\]")
_NONWORD = re.compile(r"[^0-9a-z]+")
RECALL_AT = (1, 3, 5, 10)


class Gold(BaseModel):
    file: str | None = None
    quote: str


class Question(BaseModel):
    """One line of a question file (the format score.py reads)."""

    id: str
    question: str
    category: str = "general"
    gold: list[Gold] = Field(default_factory=list)
    speaker: str | None = None
    timestamp: str | float | None = None
    answerable: bool = True


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSON-lines file; blank lines are skipped, a bad line is reported with its number."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(Question.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: not a question: {exc}") from exc
    return out


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, apostrophes or time markers: what gold matching compares."""
    text = _MARKER.sub(" ", text.lower())
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("'", "")
    return [w for w in _NONWORD.split(text) if w]


def longest_run(quote: list[str], text: list[str]) -> int:
    """Length of the longest run of consecutive quote words found contiguously in text."""
    best = 0
    prev = [0] * (len(text) + 1)
    for q in quote:
        cur = [0] * (len(text) + 1)
        for j, t in enumerate(text, 1):
            if q == t:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def quote_hits(quote: str, text: str) -> bool:
    """Whether text contains enough of the quote, in order, to count as finding it."""
    q, t = words(quote), words(text)
    if not q:
        return False
    need = len(q) if len(q) <= 6 else max(6, math.ceil(len(q) / 2))
    return longest_run(q, t) >= need


def seconds(ts: str | float | None) -> float | None:
    """Seconds from `hh:mm:ss`, `mm:ss`, or a number; None when absent or unreadable."""
    if ts is None:
        return None
    if isinstance(ts, (int, float)):
        return float(ts)
    total = 0.0
    for part in str(ts).strip().split(":"):
        try:
            total = total * 60 + float(part)
        except ValueError:
            return None
    return total


@dataclass
class Row:
    """The outcome for one question."""

    id: str
    category: str
    answerable: bool
    rank: int | None = None  # first result that hits a gold quote, 1-based
    coverage: float = 0.0  # share of gold quotes found anywhere in the results
    speaker_ok: bool | None = None  # the hit's speaker(s) include the expected one (when one is expected)
    time_ok: bool | None = None  # the expected time is within the hit's span, give or take 60 s
    abstained: bool | None = None
    cited_gold: bool | None = None  # a cited passage holds a gold quote
    quoted_gold: bool | None = None  # the answer's own points quote it (what a reader sees without digging)
    search_ms: float = 0.0
    ask_ms: float | None = None


def first_hit(question: Question, hits: list[Hit]) -> tuple[int | None, Hit | None]:
    for rank, hit in enumerate(hits, 1):
        if any(quote_hits(g.quote, hit.text) for g in question.gold):
            return rank, hit
    return None, None


def judge(question: Question, hits: list[Hit]) -> Row:
    """Score one question's search results the way score.py does."""
    row = Row(id=question.id, category=question.category, answerable=question.answerable)
    if question.gold:
        found = sum(1 for g in question.gold if any(quote_hits(g.quote, h.text) for h in hits))
        row.coverage = found / len(question.gold)
    if not question.answerable:
        return row
    row.rank, hit = first_hit(question, hits)
    if hit is None:
        return row
    if question.speaker:
        names = [hit.speaker or ""] + list(hit.speakers)
        row.speaker_ok = any(question.speaker.lower() in n.lower() for n in names)
    if question.timestamp is not None:
        gold_s, start_s, end_s = seconds(question.timestamp), seconds(hit.start), seconds(hit.end)
        if start_s is None or gold_s is None:
            row.time_ok = False
        else:
            hi = end_s if end_s is not None else start_s + 60
            row.time_ok = start_s - 60 <= gold_s <= hi + 60
    return row


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 3)


def summarize(rows: list[Row], k: int) -> dict[str, Any]:
    """Aggregate figures under score.py's names; a figure is left out when no question measures it."""
    out: dict[str, Any] = {"n": len(rows)}
    ans = [r for r in rows if r.answerable]
    if ans:
        for n in sorted({*(x for x in RECALL_AT if x <= k), k}):
            out[f"recall@{n}"] = _share([r.rank is not None and r.rank <= n for r in ans])
        out["mrr@10"] = round(sum(1 / r.rank for r in ans if r.rank and r.rank <= 10) / len(ans), 3)
        out["coverage@k"] = round(sum(r.coverage for r in ans) / len(ans), 3)
        for name in ("speaker_ok", "time_ok"):
            flags = [getattr(r, name) for r in ans if getattr(r, name) is not None]
            if flags:
                out[name] = _share(flags)
        asked = [r for r in ans if r.abstained is not None]
        if asked:
            out["ask_cites_gold"] = _share([bool(r.cited_gold) for r in asked])
            out["ask_quotes_gold"] = _share([bool(r.quoted_gold) for r in asked])
            out["ask_false_abstain"] = _share([bool(r.abstained) for r in asked])
    unans = [r for r in rows if not r.answerable and r.abstained is not None]
    if unans:
        out["ask_abstain_when_unanswerable"] = _share([bool(r.abstained) for r in unans])
    return out


def evaluate(kb: KnowledgeBase, questions: list[Question], k: int = 10, mode: Mode | str | None = None,
             ask: bool = True) -> dict[str, Any]:
    """Search (and ask) every question on the knowledge base; the report has score.py's shape plus the mode.

    `mode` changes the search figures only: answers use the knowledge base's configured mode (KB_SEARCH_MODE)."""
    rows: list[Row] = []
    for q in questions:
        t0 = time.perf_counter()
        hits = kb.search(q.question, k, mode=mode)
        search_ms = (time.perf_counter() - t0) * 1000
        row = judge(q, hits)
        row.search_ms = round(search_ms, 1)
        if ask:
            t0 = time.perf_counter()
            answer = kb.ask(q.question)
            row.ask_ms = round((time.perf_counter() - t0) * 1000, 1)
            row.abstained = answer.abstained
            row.cited_gold = any(quote_hits(g.quote, c.text) for g in q.gold for c in answer.citations)
            row.quoted_gold = any(quote_hits(g.quote, c.quote or "") for g in q.gold for c in answer.citations)
        rows.append(row)
    by_cat: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_cat[r.category].append(r)
    report: dict[str, Any] = {
        "mode": str(getattr(mode, "value", mode) or kb.settings.search_mode), "k": k,
        "overall": summarize(rows, k),
        "by_category": {c: summarize(rs, k) for c, rs in sorted(by_cat.items())},
    }
    if rows:
        report["search_latency_ms"] = {"p50": round(statistics.median(r.search_ms for r in rows), 1),
                                       "max": max(r.search_ms for r in rows)}
        asked = [r.ask_ms for r in rows if r.ask_ms is not None]
        if asked:
            report["ask_latency_ms"] = {"p50": round(statistics.median(asked), 1), "max": max(asked)}
    report["missed"] = [r.id for r in rows if r.answerable and r.rank is None]
    report["rows"] = [asdict(r) for r in rows]
    return report


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)
