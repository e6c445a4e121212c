"""Extractive answers: attributed key points of whole content sentences, built with a tiny topic encoder."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.models import Chunk, EpisodeRef, Hit, Kind, Sentence, SentenceRole as R, SpeakerRole
from search.answer import NO_ANSWER, Speakers, build_answer, unknown_names
from search.answer import compose
from search.answer.excerpts import CONTEXT_WORDS, MAX_WORDS, Excerpt, tidy
from search.answer.roles import admissible, who_they_are
from search.answer.score import without_names
from search.query import SpeakerProfile

TOPICS = ["trust", "hiring", "focus", "bread", "promise"]


def encode(texts: list[str]) -> np.ndarray:
    """One dimension per topic word (prefix match), plus a faint shared dimension so no vector is zero."""
    out = np.zeros((len(texts), len(TOPICS) + 1), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            for j, topic in enumerate(TOPICS):
                if word.startswith(topic):
                    out[i, j] += 1
        out[i, -1] = 0.1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def passage(cid: int, sentences: list[tuple[str, str | None, R]], kind: Kind = Kind.transcript,
            start: float | None = 60.0) -> tuple[Hit, Chunk]:
    """A passage from (text, speaker, role) sentences; a change of speaker starts a "Name: " labelled line."""
    text, sents, prev = "", [], object()
    for i, (s, speaker, role) in enumerate(sentences):
        if text:
            text += "\n" if speaker != prev else " "
        if speaker != prev and len({sp for _, sp, _ in sentences}) > 1 and speaker:
            text += f"{speaker}: "
        a = len(text)
        text += s
        sents.append(Sentence(start=a, end=len(text), char_start=1000 * cid + a, char_end=1000 * cid + len(text),
                              speaker=speaker, seconds=None if start is None else start + 10 * i, role=role))
        prev = speaker
    speakers = list(dict.fromkeys(sp for _, sp, _ in sentences if sp))
    chunk = Chunk(id=cid, episode_id=f"ep{cid}", episode_title=f"Episode {cid}", ordinal=0, text=text,
                  speaker=speakers[0] if speakers else None, speakers=speakers, start=start,
                  end=None if start is None else start + 60, char_start=1000 * cid, char_end=1000 * cid + len(text),
                  source=f"ep{cid}.txt", kind=kind, sentences=sents)
    hit = Hit(chunk_id=cid, text=text, score=1.0 / cid, speaker=chunk.speaker, speakers=speakers,
              start="00:01:00" if start else None, end="00:02:00" if start else None,
              episode=EpisodeRef(id=chunk.episode_id, title=chunk.episode_title), source=chunk.source, kind=kind,
              char_start=chunk.char_start, char_end=chunk.char_end)
    return hit, chunk


def answer(question: str, *passages: tuple[Hit, Chunk], **kw):
    """The answer from these passages, ranked in the order given (search scores a tenth apart, best first)."""
    hits = [h.model_copy(update={"score": 1.0 - 0.1 * i}) for i, (h, _) in enumerate(passages)]
    return build_answer(question, hits, {c.id: c for _, c in passages}, encode, **kw)


C = R.content
SPEAKERS = Speakers.of([SpeakerProfile(episode_id="ep1", short="Maria", full="Maria Bracho", role="CTO at Red Hat",
                                       part="guest"),
                        SpeakerProfile(episode_id="ep1", short="Alexis", full="Alexis Monville", part="host")])
INTERVIEW = passage(1, [
    ("Welcome to the podcast about trust.", "Alexis", R.greeting),
    ("I am Maria and I talk about trust.", "Maria", R.introduction),
    ("How do you build trust with a new team?", "Alexis", R.question),
    ("Trust grows when you keep the small promises you make to your team.", "Maria", C),
    ("Keeping a promise every single week is how the team learns to rely on you.", "Maria", C),
    ("Thank you, that was about trust.", "Alexis", R.thanks),
])


def test_a_point_is_whole_content_sentences_attributed_inline():
    ans = answer("How do leaders build trust?", INTERVIEW, speakers=SPEAKERS)
    assert not ans.abstained and len(ans.points) == 1
    [p] = ans.points
    c = p.citation
    assert c.quote == ("Trust grows when you keep the small promises you make to your team. Keeping a promise every "
                       "single week is how the team learns to rely on you.")  # the key sentence and the one it leads to
    assert c.quote in c.text and p.text == c.quote
    assert (c.speaker, c.speaker_name, c.speaker_role, c.speaker_title) == (
        "Maria", "Maria Bracho", SpeakerRole.guest, "CTO at Red Hat")
    assert (c.at, c.episode.title, c.n, c.chunk_id) == ("00:01:30", "Episode 1", 1, 1)
    assert (c.quote_char_start, c.quote_char_end) == (1000 + c.text.index(c.quote), 1000 + c.text.index(c.quote) + len(c.quote))
    assert ans.lead == "One passage in one episode answers this."
    assert ans.answer == ("One passage in one episode answers this.\n\n1. Maria Bracho (guest, CTO at Red Hat), in "
                          f"“Episode 1” at 00:01:30: “{c.quote}” [1]")


def test_greetings_introductions_questions_and_thanks_are_never_quoted():
    ans = answer("trust", INTERVIEW, speakers=SPEAKERS)
    for noise in ("Welcome", "I am Maria", "How do you", "Thank you"):
        assert noise not in ans.answer
    only_noise = passage(2, [("Welcome to the show about trust and more trust.", "Alexis", R.greeting),
                             ("Thanks for having me to talk about trust.", "Maria", R.thanks)])
    ans = answer("trust", only_noise)
    assert ans.abstained and ans.reason and ans.closest[0].chunk_id == 2


def test_who_is_questions_may_quote_an_introduction():
    intro = passage(3, [("I am Maria and my role is to lead trust and hiring at Red Hat.", "Maria", R.introduction)])
    assert answer("How does Maria do trust and hiring?", intro).abstained
    assert not answer("Who is Maria, the trust and hiring lead?", intro).abstained


def test_who_someone_is_is_answered_by_their_introduction_however_few_words_the_question_has():
    # "Who is Maria?" shares no topic with anything: the closeness test alone abstained on it
    ans = answer("Who is Maria?", INTERVIEW, speakers=SPEAKERS)
    assert not ans.abstained and len(ans.points) == 1
    assert ans.points[0].text == "I am Maria and I talk about trust."
    assert ans.points[0].citation.speaker_name == "Maria Bracho"
    # a question about someone else ("Who is Maria's boss?") is not answered with her introduction
    assert "I am Maria" not in answer("Who is Maria Bracho's boss?", INTERVIEW, speakers=SPEAKERS).answer


def test_without_their_own_introduction_the_hosts_or_the_write_ups_says_who_they_are():
    hosted = passage(1, [("Today I welcome Maria Bracho, CTO for Latin America at Red Hat.", "Alexis", R.introduction),
                         ("Trust grows when you keep the small promises you make.", "Maria", C)])
    ans = answer("Who is Maria Bracho?", hosted, speakers=SPEAKERS)
    assert [p.text for p in ans.points] == ["Today I welcome Maria Bracho, CTO for Latin America at Red Hat."]
    # the host's introduction of someone else is still not quoted
    assert answer("Who is Maria Bracho?", passage(1, [("Today I welcome Ann, a baker who talks about trust.",
                                                      "Alexis", R.introduction)]), speakers=SPEAKERS).abstained
    write_up = passage(2, [("In this episode I spoke with Maria Bracho, CTO for Latin America at Red Hat.", None, C),
                           ("We talked about trust and promises.", None, C)], kind=Kind.summary)
    ans = answer("Who is Maria?", hosted, write_up, speakers=SPEAKERS)
    assert ans.points[0].text.startswith("Today I welcome")  # an introduction before the write-up's mention
    ans = answer("Who is Maria?", write_up, speakers=SPEAKERS)
    assert ans.points[0].text.startswith("In this episode I spoke with Maria Bracho")
    # "Who is the host?" is answered by the host's introduction
    hosting = passage(1, [("I'm your host, Alexis Monville, and this show is about trust.", "Alexis", R.introduction),
                          ("Trust grows when you keep the small promises you make.", "Maria", C)])
    ans = answer("Who is the host?", hosting, speakers=SPEAKERS)
    assert [p.text for p in ans.points] == ["I'm your host, Alexis Monville, and this show is about trust."]
    # her own words that say her name come before the host's introduction, whatever the tagger called them
    own = passage(3, [("Hey, I'm Maria Bracho and these days I lead trust work at Red Hat.", "Maria", C)])
    ans = answer("Who is Maria?", hosted, own, speakers=SPEAKERS)
    assert [p.text for p in ans.points] == ["Hey, I'm Maria Bracho and these days I lead trust work at Red Hat."]


@pytest.mark.parametrize("question, name", [
    ("Who is Tamar?", "Tamar"), ("who is Tamar Bercovici?", "Tamar Bercovici"), ("Who is Maria, the CTO?", "Maria"),
    ("What does Michael Galloway do?", "Michael Galloway"), ("What is Tim's role?", "Tim"),
    ("Who is the CEO of Box?", None), ("Who is Michael Galloway's boss?", None),
    ("What was Bella's job title at Google?", None), ("What did Bruce do when lockdown hit?", None),
    ("Who is the host?", "host"), ("Who hosts the podcast?", "host"), ("Who is the host's boss?", None)])
def test_the_person_a_question_asks_about_when_it_asks_only_who_they_are(question, name):
    assert who_they_are(question) == name


@pytest.mark.parametrize("question, about_someone", [
    ("Who is Maria Bracho?", True), ("What does Maria do?", True), ("What does Maria Bracho do at Red Hat?", True),
    ("What was Bella Bardswell's job title at Google?", True), ("What did Bruce do for a living?", True),
    ("What did Bruce Wang do when lockdown hit?", False), ("What did Momofuku Ando do with his method?", False),
    ("How does Maria do hiring?", False)])
def test_only_questions_about_who_someone_is_may_quote_introductions(question, about_someone):
    assert (R.introduction in admissible(question)) is about_someone


def test_an_excerpt_never_leaves_its_speaker_and_never_passes_the_word_budget():
    turns = passage(4, [("Trust is a promise kept, again and again, over a long time.", "Ann", C),
                        ("Trust is also about hiring people who keep promises.", "Bob", C)])
    ans = answer("trust", turns)
    assert all(p.citation.quote.count(":") == 0 and "\n" not in p.citation.quote for p in ans.points)
    long = passage(5, [(f"Trust sentence {i} is about trust and promises and focus at work.", "Ann", C)
                       for i in range(12)])
    [p] = answer("trust", long).points
    assert len(p.citation.quote.split()) <= MAX_WORDS
    assert p.citation.quote.endswith(".")  # whole sentences


def test_a_sentence_ending_in_a_colon_takes_what_it_introduces():
    intro = "My advice on trust for every new manager is simple " + "and short " * (CONTEXT_WORDS // 2) + "in one line:"
    listed = passage(6, [(intro, None, C),
                         ("• keep promises", None, C), ("Bread is unrelated to anything here at all.", None, C)],
                     kind=Kind.note, start=None)
    [p] = answer("advice on trust", listed).points
    assert p.citation.quote.endswith("• keep promises")


def test_a_list_is_quoted_whole_or_not_at_all():
    items = [f"• Trust item {i} keeps promises to every person on the team, week after week." for i in range(4)]
    listed = passage(13, [("Trust is what a leader builds first, before anything else, and it takes promises.", None, C),
                          ("Here are the four habits of trust:", None, C), *[(t, None, C) for t in items]],
                     kind=Kind.note, start=None)
    [p] = answer("trust", listed).points
    # the four items do not fit with the key sentence: the excerpt stops before the list, not after its first item
    assert p.citation.quote == "Trust is what a leader builds first, before anything else, and it takes promises."


def in_episode(hit_chunk: tuple[Hit, Chunk], episode_id: str) -> tuple[Hit, Chunk]:
    hit, chunk = hit_chunk
    ref = EpisodeRef(id=episode_id, title="Leading trust")
    return hit.model_copy(update={"episode": ref}), chunk.model_copy(update={"episode_id": episode_id})


def test_a_write_up_point_brings_the_episodes_own_words():
    write_up = in_episode(passage(14, [("Trust is built by keeping promises, the episode argues, week after week.",
                                        None, C)], Kind.summary, None), "ep")
    other = passage(15, [("Trust at work comes from keeping every promise, small or big, to each person.", None, C)],
                    Kind.note, None)
    said = in_episode(passage(16, [("Focus on the team first, and trust follows from the promises you keep.",
                                    "Ann", C)]), "ep")
    ans = answer("trust", write_up, other, said)
    # the spoken passage scores below the others, yet follows the write-up of its episode
    assert [p.citation.chunk_id for p in ans.points][:2] == [14, 16]
    assert ans.points[1].citation.speaker == "Ann" and ans.points[1].citation.at


def test_near_duplicates_and_second_points_of_one_passage_are_dropped():
    a = passage(7, [("Trust grows when you keep the small promises you make.", "Ann", C)])
    b = passage(8, [("Trust grows when you keep small promises to people.", "Bob", C)])
    c = passage(9, [("Trust and hiring go together for a new manager at work.", "Cy", C)])
    ans = answer("trust", a, b, c)
    assert [p.citation.chunk_id for p in ans.points] == [7, 9]
    assert ans.lead == "Two passages in two episodes answer this."
    assert [p.citation.n for p in ans.points] == [1, 2] and ans.citations == [p.citation for p in ans.points]


def test_a_later_point_must_say_one_of_the_questions_words():
    hits = [passage(cid, [(f"Passage {cid} says something about trust.", "Ann", C)])[0] for cid in (17, 18, 19)]
    cands = [Excerpt(passage=i, first=i, last=i, key=i, quote="q", text="q", speaker="Ann", seconds=None,
                     char_start=0, char_end=1, words=8) for i in range(3)]
    vectors = np.eye(3, dtype=np.float32)  # three different things said
    totals = [0.9, 0.88, 0.86]  # all about as good as the best
    assert compose.choose(cands, totals, vectors, hits) == [0, 1]  # at most MAX_POINTS (two)
    assert compose.MAX_POINTS == 2
    # the second one's key sentence holds none of the question's words: close in meaning is not enough
    assert compose.choose(cands, totals, vectors, hits, anchored=[True, False, True]) == [0, 2]
    # the first point needs no anchor (abstention decides whether anything answers)
    assert compose.choose(cands, totals, vectors, hits, anchored=[False, False, True]) == [0, 2]


def test_two_excerpts_that_share_a_sentence_are_one_point():
    """A thread comment quoting an earlier one: different key sentences, the same line in both excerpts."""
    hits = [passage(cid, [(f"Passage {cid} says something about trust.", "Ann", C)])[0] for cid in (20, 21, 22)]
    # units 0-1 are passage 0's sentences, units 2-3 passage 1's (unit 3 repeats unit 1), unit 4 passage 2's
    vectors = np.eye(5, dtype=np.float32)
    vectors[3] = vectors[1]

    def ex(p: int, first: int, last: int, key: int) -> Excerpt:
        return Excerpt(passage=p, first=first, last=last, key=key, quote="q", text="q", speaker="Ann", seconds=None,
                       char_start=0, char_end=1, words=16)

    cands = [ex(0, 0, 1, 0), ex(1, 2, 3, 2), ex(2, 4, 4, 4)]
    assert compose.choose(cands, [0.9, 0.89, 0.88], vectors, hits) == [0, 2]
    assert compose.choose(cands[:2], [0.9, 0.89], vectors, hits[:2]) == [0]


def test_points_come_best_first():
    weak = passage(10, [("Focus matters, and trust matters a bit too for the team.", None, C)], Kind.note, None)
    strong = passage(11, [("Trust is what the whole team needs every single day.", "Ann", C)])
    ans = answer("trust", weak, strong)
    assert ans.points[0].citation.chunk_id == 11
    assert re.findall(r"\[(\d)\]", ans.answer) == [str(p.citation.n) for p in ans.points]


def test_notes_are_attributed_as_notes_and_counted_as_documents():
    note = passage(12, [("Leaders earn trust when they keep promises, and they focus on it.", None, C)], Kind.note, None)
    ans = answer("trust promises", note, INTERVIEW, speakers=SPEAKERS)
    assert "Notes, in “Episode 12”:" in ans.answer
    assert ans.lead == "Two passages in one episode and one document answer this."


@pytest.mark.parametrize("said,shown", [
    ("Um, trust is, you know, the the thing that, uh, holds a team together.",
     "Trust is the thing that holds a team together."),
    ("So you know, it’s, it’s hmm about trust, you know.", "So it’s about trust."),
    ("You know, trust is what you know best, um.", "Trust is what you know best."),
    ("I know you know the umbrella rule.", "I know you know the umbrella rule."),
])
def test_tidy(said, shown):
    assert tidy(said) == shown


def test_shown_text_drops_hesitations_but_the_citation_keeps_the_verbatim_quote():
    um = passage(13, [("Um, trust is, you know, the the thing that, uh, holds a team together.", "Ann", C)])
    [p] = answer("trust", um).points
    assert p.text == "Trust is the thing that holds a team together."
    assert p.citation.quote == "Um, trust is, you know, the the thing that, uh, holds a team together."


def test_abstains_when_nothing_is_close_and_lists_the_closest_passages():
    ans = answer("What is a good recipe for sourdough?", INTERVIEW)
    assert ans.abstained and ans.answer == NO_ANSWER and ans.citations == [] and ans.points == []
    assert [h.chunk_id for h in ans.closest] == [1] and ans.reason


def test_an_abstention_shows_the_best_excerpt_of_each_closest_passage_never_its_greeting():
    """What the corpus holds near the question, in whole content sentences under who said them: not a passage's
    first characters, which may be the host's welcome or a sentence cut in two."""
    focus = passage(2, [("Welcome back to the show.", "Alexis", R.greeting),
                        ("Focus means saying no to most of the good ideas you hear.", "Ann", C)])
    ans = answer("What is a good recipe for sourdough?", INTERVIEW, focus, speakers=SPEAKERS)
    assert ans.abstained and ans.citations == [] and ans.points == [] and [h.chunk_id for h in ans.closest] == [1, 2]
    by_passage = {p.citation.chunk_id: p for p in ans.near}
    assert sorted(by_passage) == [1, 2] and len(ans.near) == 2  # one excerpt per passage, the best scored first
    assert by_passage[1].citation.speaker_name == "Maria Bracho" and by_passage[1].text.startswith("Trust grows")
    assert by_passage[2].text == "Focus means saying no to most of the good ideas you hear."
    assert not any(w in p.text for p in ans.near for w in ("Welcome", "I am Maria", "How do you", "Thank you"))
    only_noise = passage(3, [("Welcome to the show about trust and more trust.", "Alexis", R.greeting)])
    bare = answer("trust", only_noise)
    assert bare.abstained and bare.near == [] and [h.chunk_id for h in bare.closest] == [3]


def test_abstains_when_the_question_names_something_the_corpus_never_mentions():
    known = {"trust", "maria"}
    ans = answer("How does a RACI matrix help trust?", INTERVIEW, in_corpus=lambda t: t in known)
    assert ans.abstained and "RACI" in ans.reason
    assert not answer("How does Maria build trust?", INTERVIEW, in_corpus=lambda t: t in known).abstained
    assert unknown_names("How should a RACI matrix be used by Satya Nadella?", lambda t: False) == [
        "Nadella", "RACI", "Satya"]


def test_quantity_questions_need_a_number_in_the_answer():
    assert answer("How many trust promises matter?", INTERVIEW).abstained
    counted = passage(14, [("Trust grows when you keep the three small promises you make each week.", "Ann", C)])
    assert not answer("How many trust promises matter?", counted).abstained


def test_a_question_that_asks_two_things_prefers_the_form_of_the_first_but_does_not_require_it():
    # "…, and why…": no excerpt gives a number, yet the question also asks why: answered, not abstained on
    ans = answer("How many trust promises matter, and why do they build trust?", INTERVIEW)
    assert not ans.abstained
    # where an excerpt close enough gives the number, only such excerpts are quoted
    counted = passage(14, [("We found that three small promises kept each week build trust.", "Ann", C)])
    ans = answer("How many trust promises matter, and why do they build trust?", INTERVIEW, counted)
    assert [p.text for p in ans.points] == ["We found that three small promises kept each week build trust."]


def test_a_store_without_sentence_records_still_answers():
    hit, chunk = passage(15, [("Trust grows when you keep the small promises you make.", "Ann", C)])
    chunk.sentences = []
    ans = answer("trust", (hit, chunk))
    assert not ans.abstained and ans.points[0].citation.quote in chunk.text


@pytest.mark.parametrize("question", ["trust", "How do I hire for trust?"])
def test_every_marker_matches_a_citation(question):
    ans = answer(question, INTERVIEW, passage(16, [("Hiring for trust means checking references twice.", "Bo", C)]))
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)]
    assert markers == [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))


def test_speech_without_speaker_labels_is_attributed_to_an_unlabelled_speaker_not_to_notes():
    """A Whisper transcript has no speaker labels: its excerpt is still speech, at a minute of an episode."""
    whisper = passage(24, [("Trust grows when you keep the small promises you make to your team.", None, C)])
    [p] = answer("How do leaders build trust?", whisper).points
    assert p.citation.kind == Kind.transcript and p.citation.speaker is None
    assert compose.attribution(p.citation) == "An unlabelled speaker, in “Episode 24” at 00:01:00"
    notes = passage(25, [("Trust grows when you keep the small promises you make to your team.", None, C)],
                    kind=Kind.note, start=None)
    [p] = answer("How do leaders build trust?", notes).points
    assert compose.attribution(p.citation) == "Notes, in “Episode 25”"


def test_who_is_someone_who_is_no_speaker_quotes_the_hosts_introduction_of_them():
    """A guest the transcript labels only "Guest": the host's introduction naming them, and the sentences of it
    that go on about them, answer "Who is VK Karthikeya?"; the host's own sentences about the guest do not say
    who the host is."""
    speakers = Speakers.of([SpeakerProfile(episode_id="ep26", short="Amit Varma", full="Amit Varma", part="host"),
                            SpeakerProfile(episode_id="ep26", short="Guest", full="Guest", part="guest")])
    opening = passage(26, [
        ("My guest today is VK Karthikeya, one of the giants of Indian publishing.", "Amit Varma", R.introduction),
        ("She began at Penguin in 1996 and ran HarperCollins for a decade after that.", "Amit Varma", R.introduction),
        ("It happened entirely by accident when a friend of mine needed an editor.", "Guest", C)])
    [p] = answer("Who is VK Karthikeya?", opening, speakers=speakers).points
    assert p.text == ("My guest today is VK Karthikeya, one of the giants of Indian publishing. She began at "
                      "Penguin in 1996 and ran HarperCollins for a decade after that.")
    [p] = answer("Who is Amit Varma?", opening, speakers=speakers).points
    assert not p.text.startswith("She began")  # in the third person: the guest's introduction, not his own


def test_an_excerpt_does_not_take_the_words_a_passage_stops_on_mid_sentence():
    """"…just had it for doom, basically. Well, he" (the sentence goes on in the next passage): a fragment read
    alone is noise; a note's last line without a full stop is not cut."""
    cut = passage(27, [("Trust grows when you keep the small promises you make to your team.", "Ann", C),
                       ("Well, he", "Ann", C)])
    [p] = answer("How do leaders build trust?", cut).points
    assert p.text == "Trust grows when you keep the small promises you make to your team."
    note = passage(28, [("Trust grows when you keep the small promises you make to your team.", None, C),
                        ("Keep them every week", None, C)], kind=Kind.note, start=None)
    [p] = answer("How do leaders build trust?", note).points
    assert p.text.endswith("Keep them every week")


def test_long_episode_titles_are_shortened_at_their_colon_in_the_attribution():
    from search.answer.compose import short_title

    assert short_title("Cloud Infrastructure Leadership: What Changes When You Lead the Platform") == \
        "Cloud Infrastructure Leadership"
    assert short_title("Trust, Excellence, Customer Delight") == "Trust, Excellence, Customer Delight"
    assert short_title("A: very long title that goes on and on without any other separator in it") == \
        "A: very long title that goes on and on without any other separator in it"  # head too short to stand alone


def test_the_host_is_quoted_only_when_named_or_without_guests():
    speakers = Speakers.of([SpeakerProfile(episode_id="ep17", short="Alexis", full="Alexis Monville", part="host"),
                            SpeakerProfile(episode_id="ep17", short="Maria", full="Maria Bracho", part="guest")])
    talk = passage(17, [("Trust is the thing I always find most interesting about promises.", "Alexis", C),
                        ("Trust grows when you keep the small promises you make to your team.", "Maria", C)])
    said = lambda q: {p.citation.speaker for p in answer(q, talk, speakers=speakers).points}  # noqa: E731
    assert said("trust promises") == {"Maria"}
    assert "Alexis" in said("What does Alexis Monville think about trust promises?")
    solo = Speakers.of([SpeakerProfile(episode_id="ep17", short="Alexis", full="Alexis Monville", part="host")])
    assert {p.citation.speaker for p in answer("trust promises", talk, speakers=solo).points} >= {"Alexis"}


def test_without_names_keeps_what_the_question_asks():
    assert without_names("What did Bruce Wang do when lockdown hit?", ["Bruce Wang"]) == "What did do when lockdown hit?"
    assert without_names("How did Maria’s team hire?", ["Maria Bracho"]) == "How did team hire?"
    assert without_names("What is trust?", []) == "What is trust?"
    assert without_names("How will Will Larson hire?", ["Will Larson"]) == "How will hire?"


def test_a_speakers_name_in_the_question_does_not_favour_where_they_say_it():
    """Each of Bruce's excerpts is shown as his: the sentence where he says his own name is not a better answer to
    what he did (before, the name made his self-description outscore the passage about the lockdown)."""
    words = ["bruce", "wang", "lockdown", "director"]

    def enc(texts: list[str]) -> np.ndarray:
        out = np.array([[float(w in t.lower()) for w in words] + [0.1] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    intro = passage(1, [("Hey, I am Bruce Wang and I have been a director at a streaming company for years.", "Bruce",
                         R.content)])
    said = passage(2, [("When the lockdown came we moved every team ritual online within a single week.", "Bruce",
                        R.content)])
    people = Speakers.of([SpeakerProfile(episode_id=f"ep{i}", short="Bruce", full="Bruce Wang", part="guest")
                          for i in (1, 2)])
    hits, chunks = [intro[0], said[0]], {1: intro[1], 2: said[1]}
    ans = build_answer("What did Bruce Wang do when the lockdown came?", hits, chunks, enc, people)
    assert "lockdown" in ans.points[0].text
    # a question about who he is still compares with his name in it
    ans = build_answer("Who is Bruce Wang?", hits, chunks, enc, people)
    assert "director" in ans.points[0].text


def test_questions_that_ask_for_a_name_need_one_the_question_does_not_already_give():
    around = passage(16, [("We moved every trust service off our old hosting and into the cloud last year.", "Ann", C)])
    assert answer("Which cloud provider did the trust team move to?", around).abstained
    named = passage(17, [("We moved every trust service off our old hosting and onto Azure last year.", "Ann", C)])
    assert not answer("Which cloud provider did the trust team move to?", named).abstained
    # Ann is who says it, and the answer shows her name: for a who-question that is the answer
    assert not answer("Who moved the trust services off the old hosting?", around).abstained
    # a who-is question asks for a description, not a name
    assert answer("Which cloud provider did the trust team move to?", around).reason == \
        "it asks for a name and no excerpt close enough gives one"


def test_a_question_that_asks_for_a_kind_of_answer_is_answered_by_an_excerpt_that_holds_one():
    """The closest excerpt in meaning talks around "how long"; a passage below it says how long: that one answers."""
    around = passage(20, [("Building trust with the new team was the hardest and most important trust work.", "Ann", C)])
    says = passage(21, [("Trust with the new team took us about eighteen months.", "Ann", C)])
    ans = answer("How long did building trust with the new team take?", around, says)
    assert not ans.abstained and [p.citation.episode.id for p in ans.points] == ["ep21"]
    assert "eighteen months" in ans.points[0].text
    # without it, the question is abstained on rather than answered with the excerpt that talks around it
    assert answer("How long did building trust with the new team take?", around).abstained


def test_a_question_the_speaker_asks_takes_the_answer_that_follows():
    """"…good employees, like what do we want?" read alone answers nothing: the next sentence is the answer, and
    it joins even past the word budget. A tag question ("…, right?") announces nothing."""
    ask = ("At the end of the day all of us in every role on every team we have ever built together over many "
           "long years, the good employees, like what do we want from trust?")
    said = ("We want to be challenged and to grow, to work with people whose judgement we respect every day, and to "
            "know that the work we do matters to someone we care about.")
    tag = ask.replace("like what do we want from trust?", "they want trust, right?")
    assert len(tag.split()) + len(said.split()) > MAX_WORDS
    [p] = answer("What do employees want from trust?", passage(18, [(ask, "Ann", C), (said, "Ann", C)])).points
    assert p.text.endswith(said)
    [p] = answer("What do employees want from trust?", passage(19, [(tag, "Ann", C), (said, "Ann", C)])).points
    assert p.text == tidy(tag)
    quoted = ask.replace("like what do we want from trust?", "I was like “Well, we know trust. Why don't we ask what they want?”")
    [p] = answer("What do employees want from trust?", passage(20, [(quoted, "Ann", C), (said, "Ann", C)])).points
    assert p.text.endswith(said)  # a question in quotation marks, after a sentence the splitter kept, too
    trails = ("All of us in every role on every team we have ever built together over many long years, the good "
              "employees and the great ones and the new ones, want trust, or something like it...")
    assert len(trails.split()) + len(said.split()) > MAX_WORDS
    [p] = answer("What do employees want from trust?", passage(21, [(trails, "Ann", C), (said, "Ann", C)])).points
    assert p.text.endswith(said)  # a sentence that trails off goes on in the next one


def test_where_the_question_says_to_look_does_not_choose_the_sentence():
    """"In the episode about bread and focus, how…": the locator finds the passages (retrieval's part); the
    sentence that answers is the one about what is asked, not the one about bread."""
    bread = passage(22, [("We bake bread with real focus every Friday.", "Ann", C)])
    trust = passage(23, [("Trust grows when leaders keep the promises they make.", "Ann", C)])
    ans = answer("In the episode about bread and focus, how do leaders build trust?", bread, trust)
    assert not ans.abstained
    assert [p.citation.episode.id for p in ans.points] == ["ep23"]

