"""Training and held-out data for the reader (issue 16): Changelog host-question -> guest-answer pairs with hard
negatives, SciFact claims -> abstracts with BM25 negatives, and the seeded split between them.

Shared by bench/train_reader.py (builds the training and dev sets), bench/reader_eval.py (rebuilds the held-out
sets the same way) and bench/train_biencoder.py. Nothing here is product code.

Changelog (../shared/corpora/changelog, CC BY-SA 4.0): each `**Name:** text` paragraph opens a turn; paragraphs
without a name continue it. A speaker who appears in at least max(4, 5 %) of a show's episodes is a host of that
show; every other named speaker is a guest (stage names such as Break, Jingle, Outro are neither). A pair is a
host turn ending with a question (its last sentences, at most ~40 words) followed directly by a guest turn of at
least 25 words (its first 200 words). The `news` show is left out (a single host reading news, clips as
"speakers").

Split (seeded, recorded in bench/data/reader_split.json): 10 % of Changelog episodes held out for testing, 4 %
more carved from the rest as the dev slice (checkpoint choice); 20 % of SciFact train query ids held out, 8 %
of the rest as dev. Nothing held out is used for training or choosing settings.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CHANGELOG = SHARED / "corpora" / "changelog"
SCIFACT = SHARED / "eval" / "scifact"
SPLIT_FILE = REPO / "bench" / "data" / "reader_split.json"
SEED = 16

NOT_SPEAKERS = {"break", "jingle", "outro", "intro", "music", "ad", "sponsor", "announcer", "narrator", "unknown"}
SKIP_SHOWS = {"news"}
TURN = re.compile(r"^\*\*([^*]{1,80}?):\*\*\s*(.*)$")
STAMP = re.compile(r"\\\[[^\]]{0,40}\\\]")  # \[04:22\], \[laughs\], \[unintelligible 00:05:45.20\]
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'“(A-Z0-9])")
MIN_ANSWER_WORDS = 25
MAX_ANSWER_WORDS = 200
MAX_QUESTION_WORDS = 40


def clean(text: str) -> str:
    text = STAMP.sub(" ", text)
    text = LINK.sub(r"\1", text)
    text = text.replace("**", "").replace("\\", "")
    text = re.sub(r"(?<!\w)_([^_]+)_(?!\w)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class Episode:
    id: str  # "<show>/<file stem>"
    show: str
    turns: list[Turn] = field(default_factory=list)


def parse_episode(path: Path) -> Episode:
    ep = Episode(id=f"{path.parent.name}/{path.stem}", show=path.parent.name)
    for para in path.read_text(encoding="utf-8").split("\n\n"):
        para = para.strip()
        if not para:
            continue
        m = TURN.match(para.split("\n", 1)[0])
        if m:
            rest = m.group(2) + ("\n" + para.split("\n", 1)[1] if "\n" in para else "")
            ep.turns.append(Turn(m.group(1).strip(), clean(rest)))
        elif ep.turns:
            ep.turns[-1].text = (ep.turns[-1].text + " " + clean(para)).strip()
    ep.turns = [t for t in ep.turns if t.text]
    return ep


def load_episodes(root: Path = CHANGELOG) -> list[Episode]:
    return [parse_episode(p) for p in sorted(root.glob("*/*.md")) if p.parent.name not in SKIP_SHOWS]


def hosts_by_show(episodes: list[Episode]) -> dict[str, set[str]]:
    per_show: dict[str, Counter] = defaultdict(Counter)
    n_eps: Counter = Counter()
    for ep in episodes:
        n_eps[ep.show] += 1
        per_show[ep.show].update({t.speaker for t in ep.turns})
    return {show: {s for s, n in cnt.items() if n >= max(4, math.ceil(0.05 * n_eps[show]))}
            for show, cnt in per_show.items()}


def is_speaker(name: str) -> bool:
    return name.lower() not in NOT_SPEAKERS


def question_of(text: str) -> str | None:
    """The question a host turn ends with: its last sentences up to ~40 words; None when it does not end with '?'."""
    text = text.strip().rstrip("\"'”) ")
    if not text.endswith("?"):
        return None
    sents = [s for s in SENT.split(text) if s.strip()]
    out: list[str] = []
    n = 0
    for s in reversed(sents):
        w = len(s.split())
        if out and n + w > MAX_QUESTION_WORDS:
            break
        out.insert(0, s)
        n += w
    q = " ".join(out).split()
    q = q[-60:]
    return " ".join(q) if len(q) >= 4 else None


def answer_of(text: str) -> str | None:
    w = text.split()
    return " ".join(w[:MAX_ANSWER_WORDS]) if len(w) >= MIN_ANSWER_WORDS else None


@dataclass
class Pair:
    id: str  # "<episode id>#<turn index of the answer>"
    episode: str
    guest: str
    turn: int
    question: str
    answer: str


def guest_answers(ep: Episode, hosts: set[str]) -> list[tuple[int, str, str]]:
    """(turn index, guest, answer text) of every guest turn of substance in an episode."""
    return [(i, t.speaker, a) for i, t in enumerate(ep.turns)
            if t.speaker not in hosts and is_speaker(t.speaker) and (a := answer_of(t.text))]


def episode_pairs(ep: Episode, hosts: set[str]) -> list[Pair]:
    out = []
    for i in range(1, len(ep.turns)):
        prev, cur = ep.turns[i - 1], ep.turns[i]
        if prev.speaker not in hosts or cur.speaker in hosts or not is_speaker(cur.speaker):
            continue
        q, a = question_of(prev.text), answer_of(cur.text)
        if q and a:
            out.append(Pair(f"{ep.id}#{i}", ep.id, cur.speaker, i, q, a))
    return out


def _frac(key: str, salt: str) -> float:
    """A stable number in [0, 1) from a key: seeded hashing, so the split does not depend on file order."""
    h = hashlib.sha256(f"{SEED}:{salt}:{key}".encode()).hexdigest()
    return int(h[:12], 16) / 16 ** 12


def make_split(episode_ids: list[str], scifact_qids: list[str]) -> dict:
    test_eps = sorted(e for e in episode_ids if _frac(e, "ep") < 0.10)
    dev_eps = sorted(e for e in episode_ids if 0.10 <= _frac(e, "ep") < 0.14)
    test_q = sorted((q for q in scifact_qids if _frac(q, "sf") < 0.20), key=int)
    dev_q = sorted((q for q in scifact_qids if 0.20 <= _frac(q, "sf") < 0.28), key=int)
    return {
        "seed": SEED,
        "rule": "sha256(f'{seed}:ep:{episode id}') -> [0,1): < 0.10 test, < 0.14 dev, else train; "
                "SciFact train query ids: sha256(f'{seed}:sf:{qid}') < 0.20 test, < 0.28 dev, else train",
        "changelog": {"test_episodes": test_eps, "dev_episodes": dev_eps,
                      "shows_skipped": sorted(SKIP_SHOWS)},
        "scifact": {"test_qids": test_q, "dev_qids": dev_q},
    }


def load_split() -> dict:
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))


# --- SciFact ---------------------------------------------------------------------------------------------------

def load_scifact() -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    corpus, queries, qrels = {}, {}, {}
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = f"{d['title']} {d['text']}".strip()
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                queries[str(d["_id"])] = d["text"]
    with open(SCIFACT / "qrels" / "train.tsv", encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and not parts[-1].isdigit():
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, queries, qrels


# --- BM25 ------------------------------------------------------------------------------------------------------

class BM25:
    """bm25s over a list of texts, English stop words and Snowball stemming."""

    def __init__(self, texts: list[str]):
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False),
                             show_progress=False)
        self.n = len(texts)

    def search(self, queries: list[str], k: int) -> tuple[list[list[int]], list[list[float]]]:
        tok = self._bm25s.tokenize(queries, stopwords="en", stemmer=self.stemmer, show_progress=False)
        docs, scores = self.retriever.retrieve(tok, k=min(k, self.n), show_progress=False, n_threads=1)
        return docs.tolist(), scores.tolist()


def to_dict(p: Pair) -> dict:
    return asdict(p)
