"""What a question asks, apart from where it says to look."""
from __future__ import annotations

import pytest

from search.answer.question import asked, the_ask


@pytest.mark.parametrize("question, rest", [
    ("According to the essay on asking for help, how does trust get built?", "how does trust get built?"),
    ("In the episode with the Netflix director, what did the host say?", "what did the host say?"),
    ("In the discussion about CTOs who code, which coach does a commenter name?",
     "which coach does a commenter name?"),  # a relative "who" inside the locator
    ("From Jean Gomes's notes, why do leaders react defensively?", "why do leaders react defensively?"),
    ("According to the discussion thread, in what year was Assembled founded?", "in what year was Assembled founded?"),
    # not locators: the question asks from its first word, or sets a scene that is part of what it asks
    ("In what year, roughly, did Michael land at Netflix?", "In what year, roughly, did Michael land at Netflix?"),
    ("When hiring engineers, how can you tell who keeps learning?", "When hiring engineers, how can you tell who keeps learning?"),
    ("How do leaders, in practice, build trust?", "How do leaders, in practice, build trust?"),
    ("In short, trust matters?", "In short, trust matters?"),  # too short to locate anything
])
def test_a_leading_locator_is_not_part_of_what_is_asked(question, rest):
    assert asked(question) == rest


@pytest.mark.parametrize("question, ask", [
    ("Maria mentions a designer at Disneyland. What was his name?", "What was his name?"),
    ("One critic looks up the company. What range does Crunchbase give?", "What range does Crunchbase give?"),
    ("What did Maria say about trust?", "What did Maria say about trust?"),
    ("Name the tool. It is in the README.", "Name the tool. It is in the README."),  # the last sentence asks nothing
    ("What did Dr. Smith say about trust?", "What did Dr. Smith say about trust?"),  # an abbreviation, one sentence
])
def test_the_sentence_that_asks_is_the_last_of_a_question_that_sets_a_scene(question, ask):
    assert the_ask(question) == ask
