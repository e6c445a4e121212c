"""Sentence roles in context: the host's introduction and questions are not content; the guest's words are."""
from __future__ import annotations


from core.models import SentenceRole as R, SpeakerRole as P
from ingest.chunking import chunk_document
from ingest.roles import assign_roles
from ingest.speakers import infer_parts
from tests.ingest.test_chunking import blog_post

BODY = """    Alexis: Welcome to the podcast. I’m your host, Alexis Monville. Today my guest has led teams for twenty years across three continents. Welcome, Maria.

    Maria: Hi, Alexis. I am Maria Bracho. Trust is built when you keep small promises to your team every week.

    Alexis: For many people open source is a mystery and they wonder how it works in practice. Could you explain it?

    Maria: Sure. Open source means sharing the foundations so that everyone can build on them together.

    Alexis: Thank you, Maria, for joining today.
"""


def roles(body: str = BODY, known_parts: bool = True) -> list[tuple[str, str, R]]:
    doc, text = blog_post(body)
    doc.speaker_roles = infer_parts(doc) if known_parts else {}
    chunks = chunk_document(doc, text, max_words=200, min_words=0)
    assign_roles(doc, chunks)
    return [(s.speaker, c.text[s.start:s.end], s.role) for c in chunks for s in c.sentences]


def test_parts_of_the_interview():
    doc, _ = blog_post(BODY)
    assert infer_parts(doc) == {"Alexis": P.host, "Maria": P.guest}


def test_roles_in_context():
    got = {text: role for _, text, role in roles()}
    assert got["Welcome to the podcast."] == R.greeting
    assert got["I’m your host, Alexis Monville."] == R.introduction
    # the host speaking before the guest has said a word: introduction, though its words are plain content
    assert got["Today my guest has led teams for twenty years across three continents."] == R.introduction
    assert got["I am Maria Bracho."] == R.introduction
    assert got["Trust is built when you keep small promises to your team every week."] == R.content
    # the preamble of a host's question is part of the asking
    assert got["For many people open source is a mystery and they wonder how it works in practice."] == R.question
    assert got["Could you explain it?"] == R.question
    assert got["Sure."] == R.filler
    assert got["Open source means sharing the foundations so that everyone can build on them together."] == R.content
    assert got["Thank you, Maria, for joining today."] == R.thanks


def test_an_opening_that_ends_in_the_first_question_is_the_introduction_up_to_that_question():
    """A monologue opening (the guest's career, a sponsor read) before the host hands over: the introduction,
    not the preamble of a question, so that "Who is Karthika?" can quote it."""
    body = """    Amit: Welcome to the show. My guest today is Karthika, one of the giants of publishing. She began at Penguin in 1996 and ran HarperCollins for a decade. So how did you get into books?

    Karthika: It happened entirely by accident, when a friend needed an editor.

    Amit: For many people publishing is a mystery and they wonder how it works in practice. Could you explain it?

    Karthika: Publishers bet on books before anyone knows whether readers will want them.
"""
    got = {text: role for _, text, role in roles(body)}
    assert got["She began at Penguin in 1996 and ran HarperCollins for a decade."] == R.introduction
    assert got["So how did you get into books?"] == R.question
    assert got["For many people publishing is a mystery and they wonder how it works in practice."] == R.question
    assert got["It happened entirely by accident, when a friend needed an editor."] == R.content


def test_every_sentence_is_kept_and_traced_to_the_source():
    doc, text = blog_post(BODY)
    chunks = chunk_document(doc, text, max_words=200, min_words=0)
    for c in chunks:
        for s in c.sentences:
            assert text[s.char_start:s.char_end] == c.text[s.start:s.end]
            assert s.speaker in c.speakers
    assert sum(len(c.sentences) for c in chunks) == len(roles()) == 12


RHETORICAL = """    Alexis: What does leading change look like for you? Is it different at scale?

    Tamar: A lot of leadership is leading through change, right? Our organizations are very rarely stagnant. Why does that matter? Because the team needs context to decide well on its own, right?

    Alexis: How do you give them that context?
"""


def test_a_question_is_asked_only_when_it_hands_the_floor_over():
    doc, _ = blog_post(RHETORICAL)
    assert infer_parts(doc) == {"Alexis": P.host, "Tamar": P.guest}
    got = {text: role for _, text, role in roles(RHETORICAL)}
    assert got["What does leading change look like for you?"] == R.question
    assert got["Is it different at scale?"] == R.question
    assert got["How do you give them that context?"] == R.question
    # the guest's questions are part of what she says: her tag questions, and the one she answers herself
    assert got["A lot of leadership is leading through change, right?"] == R.content
    assert got["Why does that matter?"] == R.content
    assert got["Because the team needs context to decide well on its own, right?"] == R.content


def test_without_known_parts_a_question_the_speaker_goes_on_to_answer_is_content():
    got = {text: role for _, text, role in roles(RHETORICAL, known_parts=False)}
    assert got["Why does that matter?"] == R.content  # she answers it in the next sentence
    assert got["Is it different at scale?"] == R.question  # it ends the turn: the floor is handed over
    assert got["How do you give them that context?"] == R.question


REQUEST = """    Alexis: Welcome to the podcast. I’m your host, Alexis Monville. My guest today is Maria.

    Maria: Hi, Alexis. Trust is built when you keep small promises to your team every week.

    Alexis: I keep reading about open source. Is it a new thing? Is it an evolution of what came before? Tell us your take on that.

    Maria: Open source means sharing the foundations so that everyone can build on them together. Tell me about it, it took years.
"""


def test_a_request_that_hands_the_floor_over_asks_as_a_question_does():
    """"Is it a new thing? … Tell us your take on that.": the turn asks, its questions are no one's content; a
    guest's "Tell me about it" is said, not asked."""
    got = {text: role for _, text, role in roles(REQUEST)}
    assert got["Tell us your take on that."] == R.question
    assert got["Is it a new thing?"] == R.question and got["I keep reading about open source."] == R.question
    assert got["Tell me about it, it took years."] == R.content
    assert got["Open source means sharing the foundations so that everyone can build on them together."] == R.content
