"""Sentence boundaries: spaCy's sentencizer, newlines, and a trailing-off ellipsis before a capital."""
from __future__ import annotations

from text.sentences import sentence_spans, split_sentences


def test_an_ellipsis_before_a_capital_ends_a_sentence():
    text = ("Lots of painful nights and painful weekends... But over time, the margins got better. It was funny… "
            "And he left. I was like \"Well, I know... \"Why not?\" So I did -- and then... yeah.")
    assert split_sentences(text) == [
        "Lots of painful nights and painful weekends...", "But over time, the margins got better.",
        "It was funny…", "And he left.", "I was like \"Well, I know...", "\"Why not?\"",
        "So I did -- and then... yeah."]  # trailing off mid-sentence, in lower case, goes on


def test_spans_index_the_text_across_lines():
    text = "First line... Second part.\n\n• A bullet... and more\nLast."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["First line...", "Second part.", "• A bullet... and more", "Last."]
    assert all(text[a:b].strip() == text[a:b] for a, b in spans)
