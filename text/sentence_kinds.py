"""What kind of sentence a sentence is, from its words alone: greeting, introduction, thanks, sign-off, sponsor
read, question, filler or content.

Why: an answer should quote what a guest said about the question, not "Welcome to the podcast" or "I am Maria,
my role at Red Hat is...". The rules are spaCy `Matcher` patterns over the tokenizer the sentence splitter
already loads (no statistical model needed), so each kind is a readable list of phrases. Context that words
alone cannot give (who is the host, whether the guest has spoken yet) is added at ingest (ingest.roles).
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from core.models import SentenceRole
from text.nlp import spacy
from text.sentences import nlp

if TYPE_CHECKING:
    from spacy.matcher import Matcher
    from spacy.tokens import Doc


def _phrases(*texts: str) -> list[list[dict]]:
    """Token patterns for phrases, tokenized as sentences are ("that's" is two tokens), with either apostrophe."""
    variants = dict.fromkeys(v for t in texts for v in (t, t.replace("'", "’")))
    return [[{"LOWER": tok.lower_} for tok in nlp().tokenizer(t)] for t in variants]


_OPENERS = {"hi", "hello", "hey", "welcome", "greetings", "howdy"}
_FILLERS = {"yeah", "yes", "yep", "yup", "no", "nope", "right", "okay", "ok", "sure", "so", "and", "but", "well",
            "exactly", "absolutely", "definitely", "totally", "indeed", "true", "correct", "cool", "great", "nice",
            "wow", "oh", "ah", "uh", "um", "hmm", "mm", "mhm", "mm-hmm", "uh-huh", "huh", "interesting", "gotcha",
            "alright", "good", "fair", "agreed", "perfect", "awesome", "amazing", "fantastic", "wonderful", "of",
            "course", "i", "see", "got", "it", "that", "that's", "thats", "'s", "’s", "is", "a", "good", "point",
            "makes", "sense", "for", "lol", "haha", "ha", "anyway", "anyways", "like", "you", "know", "mean",
            "fine", "really", "very", "much", "too", "'m", "’m", "am"}

# Each kind: phrases that mark it wherever they stand in a short sentence. Order matters where phrases overlap:
# the first kind listed wins (a sponsor read that says "thanks" is a sponsor read).
_KINDS: list[tuple[SentenceRole, list[str]]] = [
    (SentenceRole.sponsor, [
        "brought to you by", "sponsored by", "our sponsor", "our sponsors", "this episode is sponsored",
        "thanks to our sponsor", "thanks to our partners", "our partners at", "promo code", "use the code",
        "use code", "free trial", "check them out at", "head to", "head over to", "learn more at",
        "and by our friends", "support the show", "support this show"]),
    (SentenceRole.sign_off, [
        "see you next time", "see you next week", "until next time", "talk to you soon", "talk soon",
        "that's all for", "that's it for", "thanks for listening",
        "thank you for listening", "thanks for tuning in", "thank you for tuning in", "goodbye", "bye",
        "bye bye", "take care", "catch you later", "signing off", "where can people find you",
        "where can people follow you", "where can our listeners", "where can listeners", "how can people reach",
        "how can people find", "please subscribe", "subscribe to", "leave a review", "rate and review",
        "see you all", "have a great day", "have a good one"]),
    (SentenceRole.greeting, [
        "welcome to", "welcome back", "welcome everyone", "good morning", "good afternoon", "good evening",
        "pleasure to be", "great to be here", "glad to be here", "happy to be here", "good to be here",
        "excited to be here", "nice to meet", "great to have you", "wonderful to have you", "good to have you",
        "pleasure to have you", "happy to have you", "glad to have you", "thrilled to have you",
        "thrilled to welcome", "excited to welcome", "delighted to welcome", "how are you", "how's it going",
        "great to see you", "good to see you", "it's a pleasure",
        "thanks for having me", "thank you for having me", "thanks for inviting me", "thank you for inviting me"]),
    (SentenceRole.introduction, [
        "my name is", "my name's", "my role", "my title",
        "my guest", "our guest", "our guests", "distinguished guest", "special guest", "today's guest", "joining me", "joined by", "with me today", "with us today", "let me introduce",
        "please welcome", "introduce yourself", "introduce yourselves", "tell us about yourself",
        "tell us a little bit about yourself", "a bit about yourself", "bit about you",
        "on the show today", "on the podcast today", "on today's show"]),
    (SentenceRole.thanks, [
        "thank you", "thanks so much", "thanks a lot", "thanks again", "thanks for", "many thanks",
        "appreciate you", "appreciate it", "appreciate your time", "appreciate that", "grateful for your time",
        "thank you so much"]),
]
# a request that hands the floor over as a question does: "Tell us your take on that.", "So walk me through it."
_LEAD = {"LOWER": {"IN": ["so", "and", "now", "but", "okay", "ok", "well", "please", "maybe", "just"]}, "OP": "?"}
_PROMPTS = [[_LEAD, {"LOWER": {"IN": ["tell", "walk", "give", "take", "remind"]}}, {"LOWER": {"IN": ["us", "me"]}}],
            [_LEAD, {"LOWER": "talk"}, {"LOWER": {"IN": ["to", "about", "us", "me", "a"]}}],
            [_LEAD, {"LOWER": {"IN": ["explain", "describe"]}}],
            [_LEAD, {"LOWER": "help"}, {"LOWER": {"IN": ["us", "me"]}}, {"LOWER": "understand"}]]
# phrases that open a sentence of that kind: "Hi, Alexis." and "I am Maria Bracho." (a name right after "I'm")
_OPENING: list[tuple[SentenceRole, list[list[dict]]]] = [
    (SentenceRole.question, _PROMPTS),
    (SentenceRole.greeting, [[{"LOWER": {"IN": sorted(_OPENERS)}}]]),
    (SentenceRole.thanks, _phrases("thanks", "thank you")),
    (SentenceRole.introduction, [
        [{"LOWER": "i"}, {"LOWER": {"IN": ["'m", "’m", "am"]}}, {"IS_TITLE": True}],
        [{"LOWER": "this"}, {"LOWER": "is"}, {"IS_TITLE": True}, {"IS_TITLE": True}]]),
]
# Greetings, thanks and sign-offs found anywhere mark only short sentences: a long sentence that says "thank you"
# or "take care" in passing still says something else. A sentence is short when it has at most this many words
# besides the phrase itself. Sponsor reads and introductions ("my guest today is...") are marked at any length.
OTHER_WORDS = 12
_IN_PASSING = {SentenceRole.greeting, SentenceRole.thanks, SentenceRole.sign_off}


# "your host" introduces the host ("I'm your host, Alexis", "your host Adam Stacoviak", "your host for today"), not
# "your host organization" or "your host machine"
_YOUR_HOST = [[{"LOWER": "your"}, {"LOWER": {"IN": ["host", "co-host", "cohost"]}}, after]
              for after in ({"IS_PUNCT": True}, {"IS_TITLE": True}, {"LOWER": {"IN": ["for", "today", "and", "here"]}})]


@lru_cache(maxsize=1)
def _matchers() -> tuple[Matcher, Matcher]:
    Matcher = spacy().matcher.Matcher  # noqa: N806 (spaCy through text.nlp: no PyTorch)
    vocab = nlp().vocab
    anywhere, opening = Matcher(vocab), Matcher(vocab)
    for role, phrases in _KINDS:
        anywhere.add(role.value, _phrases(*phrases) + (_YOUR_HOST if role == SentenceRole.introduction else []))
    for role, patterns in _OPENING:
        opening.add(role.value, patterns)
    return anywhere, opening


def _words(doc: Doc) -> list:
    return [t for t in doc if not (t.is_punct or t.is_space)]


def sentence_kind(doc: Doc) -> SentenceRole:
    """The kind of one tokenized sentence (see module docstring)."""
    words = _words(doc)
    if not words:
        return SentenceRole.filler
    if doc.text.rstrip(" \"'”’).").endswith("?"):  # "...build Stellafai?." is a question too
        return SentenceRole.question
    if all(t.lower_ in _FILLERS for t in words) and len(words) <= 6:
        return SentenceRole.filler
    anywhere, opening = _matchers()
    order = [role for role, _ in _KINDS]
    found: dict[SentenceRole, int] = {}
    for match_id, start, end in anywhere(doc):
        role = SentenceRole(nlp().vocab.strings[match_id])
        found[role] = max(found.get(role, 0), end - start)
    for role in order:
        if found.get(role) and (role not in _IN_PASSING or len(words) - found[role] <= OTHER_WORDS):
            return role
    for match_id, start, _ in opening(doc):
        first = next(i for i, t in enumerate(doc) if not (t.is_punct or t.is_space))
        if start == first:
            role = SentenceRole(nlp().vocab.strings[match_id])
            if role in (SentenceRole.introduction, SentenceRole.question) or len(words) <= OTHER_WORDS:
                return role
    return SentenceRole.content


def sentence_kinds(sentences: list[str]) -> list[SentenceRole]:
    """Kinds of many sentences, tokenized in one pass."""
    return [sentence_kind(doc) for doc in nlp().tokenizer.pipe(sentences)]
