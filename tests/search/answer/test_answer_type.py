"""The kind of answer a question asks for, and whether excerpts hold one."""
from __future__ import annotations

import pytest

from search.answer.answer_type import Asked, Wanted, names, people, wanted


@pytest.mark.parametrize("question, kind", [
    ("How many engineers did Maria hire?", Wanted.number),
    ("In what year did Box move to the cloud?", Wanted.year),
    ("How long did the migration take?", Wanted.duration),
    ("How many months did the migration take?", Wanted.duration),
    ("How often does she hold 1:1s?", Wanted.frequency),
    ("How much funding has Stellafai raised?", Wanted.money),
    ("What salary did they offer?", Wanted.money),
    ("What fees does Open Collective take on money raised through the platform?", Wanted.money),
    ("At what event did he first come across Tetris?", Wanted.name),
    ("Roughly how many employees does Stellafai have?", Wanted.number),
    ("On which day of the week were the retrospectives?", Wanted.date),
    ("Where is Pearlside based?", Wanted.place),
    ("Where does the name Stellafai come from?", None),  # an origin, not a place
    ("At which university did Tamar complete her PhD?", Wanted.name),
    ("Which programming languages has the author shipped code in?", Wanted.name),
    ("Which venture capital firms invested in Stellafai?", Wanted.name),
    ("What were the names of the two startups Bruce founded?", Wanted.name),
    ("Name the IC who co-wrote the vision doc.", Wanted.name),
    ("What was the name of the colleague the author had promoted?", Wanted.person),
    ("What does Team Topologies say about enabling teams?", None),  # "does" is no name of a team
    ("What leads to a lord of the flies situation?", None),  # a verb, not "a lead"
    ("Who told Michael to look beneath the interfaces?", Wanted.person),
    ("Do we know who built the first prototype?", Wanted.person),
    ("Whose criticism of OKRs did the host bring up?", Wanted.name),  # "whose turnaround…" may be a company's
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
    # a preposition before the question word, "which year", an age, a title, "X's name"
    ("In which year did Maria move back to Caracas?", Wanted.year),
    ("For how much money did Michael sell his startup?", Wanted.money),
    ("At what age did the author drop out of school?", Wanted.number),
    ("What is the title of Alexis's upcoming book?", Wanted.name),
    ("What was that designer's name?", Wanted.person),
    ("And what is her name?", Wanted.person),
    ("What is the company's full name?", Wanted.name),
])
def test_what_a_question_asks_for(question, kind):
    assert wanted(question) == kind


@pytest.mark.parametrize("question, kind, required", [
    ("How many teams does she lead?", Wanted.number, True),
    # two questions in one: the form of the first is evidence, not a requirement
    ("How many teams does she lead, and where are they based?", Wanted.number, False),
    ("What language was it in, and why did it never run?", Wanted.name, False),
    ("And what is her name?", Wanted.person, True),
    ("How do leaders build trust?", None, False),
])
def test_a_question_that_asks_two_things_does_not_require_the_form_of_one(question, kind, required):
    wants = Asked(question, [])
    assert (wants.kind, wants.required) == (kind, required)


def test_names_are_capitalised_inside_a_sentence_and_not_common_words():
    text = "So I joined Heroku in 2012. Then we moved to Azure, and I Think it went well. Okay. Priya agreed."
    # "So", "Then" are common words, "Okay" opens a spoken sentence, "Think" is written in lower case elsewhere
    assert names(text, lowercase={"think"}) == ["Heroku", "Azure", "Priya"]
    assert names("I’m told that Red Hat's team grew.", set()) == ["Red", "Hat's"]
    # a word someone has is a thing, whatever its case: "our API", "a VP"
    assert names("We built it on top of our API, and a VP agreed with Priya.", set()) == ["Priya"]
    # a word that opens speech, or a plural acronym, is no name either
    assert names("I'd just say, Hey, we wrote PRDs and MRDs at Heroku.", set()) == ["Heroku"]
    assert not held("Which customer asked for the feature?", "They wanted it on top of our API, fast.")


def held(kind_question: str, text: str, speaker: str | None = None, passages: tuple[str, ...] = ()) -> bool:
    return Asked(kind_question, passages).held_by(text, speaker)


def test_a_name_must_be_one_the_question_does_not_already_say():
    q = "Which university in Venezuela did Maria attend?"
    assert not held(q, "I was lucky to get into a very competitive Venezuelan university.", "Maria Bracho")
    assert held(q, "I studied at Universidad Simón Bolívar in Caracas.", "Maria Bracho")
    assert held("What was the name of the team Bruce ran?", "I used to run a team called product platform systems.",
                "Bruce Wang")


def test_a_person_is_a_name_or_who_says_it_but_not_a_title():
    q = "Who was the engineer that built the first prototype?"
    assert not held(q, "Our CTO and one engineer built it in a week.")
    assert held(q, "Our CTO and one engineer built it in a week.", "Tim Beattie")
    assert held(q, "Priya built it in a week.")
    assert not held("Who hired Tim Beattie?", "It was a week.", "Tim Beattie")
    # a company or a place is no one's name: "who is his boss?" is not answered by where the boss works
    assert not held("Who is Michael's boss?", "My current boss at HashiCorp was also part of that crew at Yahoo.")
    assert not held("Who was the new VP?", "We had a new VP at Netflix and we presented our strategy.")
    assert held("Who was the new VP?", "We had a new VP, Jane Doe, and we presented our strategy.")
    # the passages say "at Netflix": Netflix is a company wherever it stands; "Consumer Edge" is a product
    passages = ("I have been at Netflix for four years.", "We built it for the consumer product.")
    assert not held("Who was the new VP?", "Netflix hired a new VP for Consumer Edge.", passages=passages)
    assert held("Who was the new VP?", "Netflix hired Jane as the new VP.", passages=passages)


def test_people_are_names_in_a_row_or_one_name_where_a_person_stands():
    assert people("I stood behind David Filo at Yahoo. Priya built it. I joined Netflix. HashiCorp grew.",
                  set()) == ["David Filo", "Priya"]


def test_numbers_the_question_does_not_already_say():
    assert held("How many people work on the three teams?", "We were six engineers.")
    assert not held("How many people work on the three teams?", "We were a small team across three teams.")


def test_years_sums_lengths_of_time_and_frequencies_have_their_own_forms():
    assert held("In what year was Stellafai founded?", "We started the company in 2019.")
    assert not held("In what year was Stellafai founded?", "We started with three people.")
    assert held("How much funding did they raise?", "We raised $2 million from angels.")
    assert not held("How much funding did they raise?", "We talked to two investors.")
    assert held("How long did the migration take?", "It took about eighteen months end to end.")
    assert not held("How long did the migration take?", "It involved three data centres.")
    assert held("How often does she hold 1:1s?", "I strive to have biweekly 1:1 meetings with my reports.")
    assert not held("How often does she hold 1:1s?", "I hold 1:1 meetings with my reports.")
    assert held("How often do they talk clients out of it?", "About 30% of the time we try hard to convince them.")
    assert held("On which day of the week were the retrospectives?", "We ran them every Friday afternoon.")
    assert not held("On which day of the week were the retrospectives?", "We ran weekly retrospectives.")
    # a fee or a cut is often a share of the money; a share of something else answers no sum
    assert held("What fees does Open Collective take?", "Open collective has a 5% fee across the board.")
    assert not held("How much money did it take to start Unsplash?", "It was referring almost 80 percent of projects.")


def test_any_text_answers_a_question_that_asks_for_no_kind():
    assert held("What does Maria say about trust?", "Trust is earned.")


def test_the_kind_is_read_after_where_the_question_says_to_look():
    asked = Asked("According to the remote-work essay, how often should the team meet?", ())
    assert asked.what == "how often should the team meet?" and asked.kind == Wanted.frequency


def test_the_kind_is_read_from_the_sentence_that_asks():
    # the scene is set in a sentence of its own; the last one asks for a name, which the passage does not give
    q = "Michael Galloway mentions a French designer who set Disneyland's purpose. What was that designer's name?"
    wants = Asked(q, ["he was a French designer, I think, that helped establish the purpose for Disneyland"])
    assert wants.kind == Wanted.person
    assert not wants.held_by("The name is gonna slip my mind, but he was a French designer at Disneyland.",
                             "Michael Galloway")
    assert wants.held_by("That was Marc Davis, a French designer.", "Michael Galloway")


def test_the_corpus_speakers_are_people_wherever_their_names_stand():
    # at a sentence's start "Bruce" may be read as a common word (WordNet has "bruce"); a speaker's name is a person
    q, text = "Who talks about trust?", "Bruce joins a new team and earns their trust."
    assert Asked(q, [], speakers=["Bruce Wang"]).held_by(text)
    assert not Asked(q, [], speakers=["Bruce Wang"]).held_by("The team earns trust.")
    assert not Asked("Who did Bruce hire?", [], speakers=["Bruce Wang"]).held_by("Bruce hired a team.")
