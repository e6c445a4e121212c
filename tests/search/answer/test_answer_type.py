"""The kind of answer a question asks for, and whether excerpts hold one."""
from __future__ import annotations

import pytest

from search.answer.answer_type import Wanted, names, supplied, wanted


@pytest.mark.parametrize("question, kind", [
    ("How many engineers did Maria hire?", Wanted.number),
    ("In what year did Box move to the cloud?", Wanted.number),
    ("Who told Michael to look beneath the interfaces?", Wanted.person),
    ("Do we know who built the first prototype?", Wanted.person),
    ("Whose criticism of OKRs did the host bring up?", Wanted.person),
    ("Who is the CEO of Box?", Wanted.person),
    ("Who is Michael Galloway's current boss?", Wanted.person),
    ("What is the name of Maria Bracho's daughter?", Wanted.person),
    ("What was the name of the French designer who defined Disneyland's purpose?", Wanted.person),
    ("Which company did Bella work for before Google?", Wanted.name),
    ("Which programming language did the CTO use?", Wanted.name),
    ("Which university in Venezuela did Maria attend?", Wanted.name),
    ("What was the name of the team Bruce ran?", Wanted.name),
    ("Who is Armstrong at Stellafai?", None),  # who-is: a description
    ("who was Maria before Red Hat?", None),
    ("What does Maria say about trust?", None),
    ("Which matters more, trust or speed?", None),
])
def test_what_a_question_asks_for(question, kind):
    assert wanted(question) == kind


def test_names_are_capitalised_inside_a_sentence_and_not_common_words():
    text = "So I joined Heroku in 2012. Then we moved to Azure, and I Think it went well. Okay. Priya agreed."
    # "So", "Then" are common words, "Okay" opens a spoken sentence, "Think" is written in lower case elsewhere
    assert names(text, lowercase={"think"}) == ["Heroku", "Azure", "Priya"]
    assert names("I’m told that Red Hat's team grew.", set()) == ["Red", "Hat's"]


def test_supplied_needs_something_the_question_does_not_already_say():
    q = "Which university in Venezuela did Maria attend?"
    assert not supplied(Wanted.name, q, ["I was lucky to get into a very competitive Venezuelan university."],
                        ["Maria Bracho"], [])
    assert supplied(Wanted.name, q, ["I studied at Universidad Simón Bolívar in Caracas."], ["Maria Bracho"], [])
    assert supplied(Wanted.name, "What was the name of the team Bruce ran?",
                    ["I used to run a team called product platform systems."], ["Bruce Wang"], [])


def test_a_person_is_a_name_or_who_says_it_but_not_a_title():
    q = "Who was the engineer that built the first prototype?"
    assert not supplied(Wanted.person, q, ["Our CTO and one engineer built it in a week."], [None], [])
    assert supplied(Wanted.person, q, ["Our CTO and one engineer built it in a week."], ["Tim Beattie"], [])
    assert supplied(Wanted.person, q, ["Priya built it in a week."], [None], [])
    assert not supplied(Wanted.person, "Who hired Tim Beattie?", ["It was a week."], ["Tim Beattie"], [])


def test_numbers():
    assert supplied(Wanted.number, "How many?", ["We were six engineers."], [None], [])
    assert not supplied(Wanted.number, "How many?", ["We were a small team."], [None], [])
