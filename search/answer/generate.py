"""A generated answer: a configured language model writes 2-5 sentences from the numbered excerpts, and only
the sentences that pass verification are shown.

    question + numbered excerpts -> prompt -> OpenAI-compatible chat endpoint (KB_LLM_URL: Ollama, a llama.cpp
    server, vLLM, a hosted API) -> sentences -> verify (search.answer.verify) -> Generation

A `Generation` is `answered` (the kept sentences, each ending in [n] markers that refer to the same numbers as
the excerpts), `abstained` (the model said "The corpus does not say.") or `failed`, with the reason the caller
shows beside the extractive answer: no model configured, endpoint down or too slow, a malformed or empty reply,
no sentence that passed.

Budget: one answer takes at most KB_LLM_TIMEOUT seconds in all, whatever the endpoint does. The request runs in
a worker thread and the caller waits on it with that deadline; there are no retries. The openai client is
imported only when a model is asked, so nothing changes, and nothing loads, while KB_LLM_URL is unset.
"""
from __future__ import annotations

import queue
from contextlib import closing
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from core.models import Kind, Point
from core.settings import Settings, get_settings
from search.answer.verify import ABSTENTION, Verdict, points_by_number, reply_sentences, verify_sentence

MAX_SENTENCES = 5  # the prompt asks for 2-5 sentences; more are not shown (a long reply is not an answer)

SYSTEM_PROMPT = f"""You answer questions about podcast episodes and notes, using only the numbered excerpts given.
Write 2 to 5 short sentences of plain prose: no lists, no headings, no preamble.
End every sentence with the numbers of the excerpts it comes from, in square brackets, like [1] or [1][3].
Use only what the excerpts say. Do not add names, numbers or facts that are not in the excerpts.
Put words in quotation marks only when you copy them exactly from an excerpt.
Say who said it when that matters, by the name given with the excerpt.
If the excerpts do not answer the question, reply exactly: {ABSTENTION}"""


class Generation(BaseModel):
    """What came of asking the model: the sentences to show, those dropped and why, or why there are none."""

    status: Literal["answered", "abstained", "failed"]
    answer: str = Field(default="", description="the kept sentences, as plain text")
    sentences: list[Verdict] = Field(default_factory=list, description="the kept sentences, in order")
    dropped: list[Verdict] = Field(default_factory=list, description="sentences that failed verification, and why")
    reason: str | None = Field(default=None, description="why there is no generated answer (or why it is cut short)")
    model: str | None = None
    reply: str = Field(default="", description="the model's reply as received")
    seconds: float = 0.0

    @computed_field
    @property
    def generated(self) -> bool:
        """True when there are verified sentences to show instead of the extractive answer."""
        return self.status == "answered"

    @computed_field
    @property
    def cited(self) -> list[int]:
        """The excerpt numbers the kept sentences cite, in order of first citation."""
        out: list[int] = []
        for verdict in self.sentences:
            out.extend(n for n in verdict.cites if n not in out)
        return out


class GenerationFailed(Exception):
    """The endpoint gave no usable reply; the message says why, in words a reader can act on."""


# ---- the prompt ----

def describe(points: Sequence[Point]) -> str:
    """Who says it, in which episode, when: one line heading an excerpt (points sharing a number share one)."""
    c = points[0].citation
    who = c.speaker_name or c.speaker
    if who:
        about = ", ".join(x for x in (c.speaker_role.value if c.speaker_role else None, c.speaker_title) if x)
        who = f"{who} ({about})" if about else who
    else:
        who = "a written note" if c.kind != Kind.transcript else "an unnamed speaker"
    when = c.at or c.start
    return f'[{c.n}] {who}, in "{c.episode.title}"' + (f", at {when}" if when else "")


def build_messages(question: str, points: Sequence[Point]) -> list[dict[str, str]]:
    """The chat messages: the rules, then the question and each excerpt under its number, with who said it,
    where and when, the whole passage (the model may need the talk around the quote) and the key excerpt."""
    blocks = []
    for n, group in sorted(points_by_number(points).items()):
        lines = [describe(group), f"Passage: {group[0].citation.text.strip()}"]
        lines += [f"Key excerpt: {p.text.strip()}" for p in group if p.text.strip() != group[0].citation.text.strip()]
        blocks.append("\n".join(lines))
    user = f"Question: {question.strip()}\n\nExcerpts:\n\n" + "\n\n".join(blocks) + (
        "\n\nAnswer the question from these excerpts only. End each sentence with the number of the excerpt it "
        "comes from, e.g. [1].")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# ---- talking to the endpoint (in a worker thread, so the caller keeps its deadline) ----

def _client(settings: Settings):
    from openai import OpenAI  # imported here: half a second, paid only when a model is configured and asked

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "no-key"  # local servers need none
    return OpenAI(base_url=settings.llm_url, api_key=key, timeout=settings.llm_timeout, max_retries=0)


def _model_name(client, settings: Settings) -> str:
    """KB_LLM_MODEL, else the first model the endpoint lists (llama.cpp and vLLM usually serve just one)."""
    if settings.llm_model:
        return settings.llm_model
    models = [m.id for m in getattr(client.models.list(), "data", None) or [] if getattr(m, "id", None)]
    if not models:
        raise GenerationFailed("the language model endpoint lists no model; set KB_LLM_MODEL")
    return models[0]


def _reply_text(response: object) -> str:
    """The text of a whole (non-streamed) reply; a reply without it is malformed or empty."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list):
        raise GenerationFailed("the language model's reply is malformed (no choices)")
    if not choices:
        raise GenerationFailed("the language model's reply is empty (no choices)")
    content = getattr(getattr(choices[0], "message", None), "content", None)
    if not isinstance(content, str) or not content.strip():
        raise GenerationFailed("the language model's reply is empty")
    return content


def _chunk_text(chunk: object) -> str:
    """The text a streamed chunk adds ("" for role-only, usage-only and final chunks)."""
    choices = getattr(chunk, "choices", None) or []
    content = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
    return content if isinstance(content, str) else ""


def failure_reason(exc: BaseException, settings: Settings) -> str:
    """Why the endpoint gave no answer, for the reader: down, too slow, an HTTP error, a malformed reply."""
    if isinstance(exc, GenerationFailed):
        return str(exc)
    try:
        import openai
    except ImportError:
        return "the openai package is not installed, which a configured language model needs"
    if isinstance(exc, openai.APITimeoutError):
        return f"the language model did not answer within {settings.llm_timeout:g} s"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return f"the language model at {settings.llm_url} cannot be reached ({type(cause).__name__}: {cause})"
    if isinstance(exc, openai.APIStatusError):
        return f"the language model endpoint answered HTTP {exc.status_code}: {str(exc.message)[:200]}"
    if isinstance(exc, (ValueError, openai.APIResponseValidationError)):  # json.JSONDecodeError is a ValueError
        return f"the language model's reply is malformed ({type(exc).__name__}: {str(exc)[:200]})"
    return f"asking the language model failed ({type(exc).__name__}: {str(exc)[:200]})"


def _ask(question: str, points: Sequence[Point], settings: Settings, stream: bool,
         out: queue.Queue, stop: threading.Event) -> None:
    """Worker: put ("model", name), then ("text", piece)..., then ("end", None) or ("error", reason)."""
    try:
        with _client(settings) as client:
            model = _model_name(client, settings)
            out.put(("model", model))
            request = dict(model=model, messages=build_messages(question, points), temperature=0,
                           max_tokens=settings.llm_max_tokens)
            if not stream:
                out.put(("text", _reply_text(client.chat.completions.create(**request))))
            else:
                with client.chat.completions.create(stream=True, **request) as chunks:
                    for chunk in chunks:
                        if stop.is_set():  # the caller has what it needs, or gave up
                            break
                        if piece := _chunk_text(chunk):
                            out.put(("text", piece))
        out.put(("end", None))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason the caller shows
        out.put(("error", failure_reason(exc, settings)))


def _pieces(question: str, points: Sequence[Point], settings: Settings, stream: bool) -> Iterator[tuple[str, str]]:
    """("model", name) and ("text", piece) as the worker gets them, within the budget; GenerationFailed otherwise."""
    out: queue.Queue = queue.Queue()
    stop = threading.Event()
    deadline = time.monotonic() + settings.llm_timeout
    threading.Thread(target=_ask, args=(question, points, settings, stream, out, stop), daemon=True,
                     name="kb-llm").start()
    try:
        while True:
            try:
                kind, value = out.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise GenerationFailed(f"the language model did not answer within {settings.llm_timeout:g} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise GenerationFailed(value)
            yield kind, value
    finally:
        stop.set()


# ---- from reply to Generation ----

def visible_text(reply: str, final: bool = True) -> str | None:
    """The answer part of a reply. Reasoning models (DeepSeek-R1, Qwen3 through Ollama or llama.cpp) may think
    aloud in <think>...</think> before answering; that is not the answer. None while the thinking goes on."""
    text = reply.lstrip()
    if text.startswith("<think>"):
        end = text.find("</think>")
        if end < 0:
            return "" if final else None
        return text[end + len("</think>"):].lstrip()
    return reply


def _judge(sentence: str, excerpts: dict, kept: int) -> Verdict:
    """A sentence's verdict; past the sentences asked for, a sentence is dropped however good."""
    if kept >= MAX_SENTENCES:
        return Verdict(text=sentence, kept=False, reason=f"beyond the {MAX_SENTENCES} sentences asked for")
    return verify_sentence(sentence, excerpts)


def _conclude(reply: str, verdicts: list[Verdict], model: str | None, started: float,
              failure: str | None = None) -> Generation:
    """Answered when any sentence passed (a stream cut short keeps what passed before), abstained when the reply
    is only "The corpus does not say.", failed otherwise, with the reason."""
    kept = [v for v in verdicts if v.kept]
    dropped = [v for v in verdicts if not v.kept]
    common = dict(sentences=kept, dropped=dropped, model=model, reply=reply,
                  seconds=round(time.monotonic() - started, 3))
    if kept:
        return Generation(status="answered", answer=" ".join(v.text for v in kept),
                          reason=f"the reply was cut short: {failure}" if failure else None, **common)
    if failure:
        return Generation(status="failed", reason=failure, **common)
    if verdicts and all(v.abstains for v in verdicts):
        return Generation(status="abstained", reason="the language model found no answer in the excerpts", **common)
    if not verdicts:
        return Generation(status="failed", reason="the language model's reply is empty", **common)
    reasons = list(dict.fromkeys(v.reason for v in dropped if v.reason))
    return Generation(status="failed", reason="no generated sentence passed verification: " + "; ".join(reasons[:3]),
                      **common)


def _cannot_ask(settings: Settings, points: Sequence[Point]) -> str | None:
    if not settings.llm_url:
        return "no language model is configured (KB_LLM_URL)"
    if not points:
        return "no excerpts to write an answer from"
    return None


def generate_answer(question: str, points: Sequence[Point], settings: Settings | None = None) -> Generation:
    """Ask the configured model for a short answer from `points` (numbered by `point.citation.n`), wait for the
    whole reply (within KB_LLM_TIMEOUT) and verify it. Never raises for anything the endpoint does."""
    settings = settings or get_settings()
    started = time.monotonic()
    if reason := _cannot_ask(settings, points):
        return Generation(status="failed", reason=reason)
    model, parts = None, []
    try:
        for kind, value in _pieces(question, points, settings, stream=False):
            if kind == "model":
                model = value
            else:
                parts.append(value)
    except GenerationFailed as exc:
        return _conclude("", [], model, started, failure=str(exc))
    reply = "".join(parts)
    sentences, _ = reply_sentences(visible_text(reply) or "", final=True)
    excerpts, verdicts = points_by_number(points), []
    for sentence in sentences:
        verdicts.append(_judge(sentence, excerpts, sum(v.kept for v in verdicts)))
    return _conclude(reply, verdicts, model, started)


def stream_answer(question: str, points: Sequence[Point],
                  settings: Settings | None = None) -> Iterator[Verdict | Generation]:
    """Like `generate_answer`, streamed: yields each sentence that passed verification (a `Verdict`) as soon as
    it is complete, then exactly one `Generation`, always last, with everything (kept, dropped, status, reason).
    A failing or stalling endpoint ends the stream within KB_LLM_TIMEOUT; sentences already yielded stand (each
    was verified), and the Generation says the reply was cut short. Closing the generator early stops the
    request."""
    settings = settings or get_settings()
    started = time.monotonic()
    if reason := _cannot_ask(settings, points):
        yield Generation(status="failed", reason=reason)
        return
    excerpts = points_by_number(points)
    model, reply, consumed, verdicts, failure = None, "", 0, [], None

    def judge(sentences: list[str]) -> Iterator[Verdict]:
        for sentence in sentences:
            verdict = _judge(sentence, excerpts, sum(v.kept for v in verdicts))
            verdicts.append(verdict)
            if verdict.kept:
                yield verdict

    try:
        with closing(_pieces(question, points, settings, stream=True)) as pieces:  # closing it stops the request
            for kind, value in pieces:
                if kind == "model":
                    model = value
                    continue
                reply += value
                visible = visible_text(reply, final=False)
                if visible is None:
                    continue
                sentences, rest = reply_sentences(visible[consumed:], final=False)
                consumed = len(visible) - len(rest)
                yield from judge(sentences)
                if sum(v.kept for v in verdicts) >= MAX_SENTENCES:
                    break
            else:
                visible = visible_text(reply, final=True) or ""
                yield from judge(reply_sentences(visible[consumed:], final=True)[0])
    except GenerationFailed as exc:
        failure = str(exc)
    yield _conclude(reply, verdicts, model, started, failure)
