"""Sentence kinds from words alone: the noise an answer must not quote, and content it must keep."""
from __future__ import annotations

import pytest

from core.models import SentenceRole as R
from text.sentence_kinds import sentence_kinds

CASES = [
    ("Welcome to another episode of Le Podcast on Emerging Leadership.", R.greeting),
    ("Hi, Alexis.", R.greeting),
    ("It’s a pleasure to be in your podcast.", R.greeting),
    ("Thanks for having me, it's great to be here.", R.greeting),
    ("I’m your host, Alexis Monville, and today I’m thrilled to welcome Maria Bracho, CTO at Red Hat.", R.introduction),
    ("I am Maria Bracho.", R.introduction),
    ("This is your host Adam Stacoviak, and this is Founders Talk.", R.introduction),
    ("But it really depends on your host organization.", R.content),  # a fiscal host, not the show's
    ("My role at Red Hat is as Chief Technology Officer for Latin America.", R.introduction),
    ("My guest today is the VP of Engineering at Box.", R.introduction),
    ("Thank you, Maria, for having joined the podcast today.", R.thanks),
    ("Thanks so much.", R.thanks),
    ("That's all for today, see you next time.", R.sign_off),
    ("Where can people find you online?", R.question),
    ("This episode is brought to you by our friends at Fastly.", R.sponsor),
    ("Could you start by sharing how you typically introduce yourself?", R.question),
    ("So a question I ask everyone: do you use Stellafai to build Stellafai?.", R.question),
    # a request hands the floor over as a question does, at any length
    ("Tell us your guys' take on that thing.", R.question),
    ("So walk me through how the platform team went from three engineers to two hundred over those years.", R.question),
    ("Help us understand the trade-off there.", R.question),
    ("I told them about it last year, and they walked me through the plan.", R.content),
    ("Tell you what, it was hard.", R.content),
    ("Sure.", R.filler),
    ("Yeah, yeah, absolutely.", R.filler),
    ("That’s right.", R.filler),
    ("I think trust is built when you keep the small promises you make to your team every day.", R.content),
    # a marker phrase in passing does not make a long sentence noise
    ("Thanks to that, we could ship faster and the team learned to trust each other.", R.content),
    ("You have to take care of your people first, and then the results follow, in my experience at least.",
     R.content),
    ("We said goodbye to the monolith after three years of slow and careful migration work across teams.", R.content),
]


@pytest.mark.parametrize("sentence,kind", CASES)
def test_kind(sentence, kind):
    assert sentence_kinds([sentence]) == [kind]


def test_many_at_once_keeps_order():
    texts = [s for s, _ in CASES]
    assert sentence_kinds(texts) == [k for _, k in CASES]
