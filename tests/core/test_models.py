"""The data that crosses boundaries: a citation says who said it in the same words everywhere it is shown."""
from __future__ import annotations

import pytest

from core.models import Citation, EpisodeRef, Kind, SpeakerRole


def cite(kind: Kind, speaker: str | None = None, **kw) -> Citation:
    return Citation(n=1, chunk_id=1, text="t", speaker=speaker, start=None, end=None, kind=kind, source="s.txt",
                    char_start=0, char_end=1, episode=EpisodeRef(id="e", title="E"), **kw)


@pytest.mark.parametrize("citation, who, about", [
    (cite(Kind.transcript, "Maria", speaker_name="Maria Bracho", speaker_role=SpeakerRole.guest,
          speaker_title="CTO for LATAM at Red Hat"), "Maria Bracho", "guest, CTO for LATAM at Red Hat"),
    (cite(Kind.transcript, "Adam Stacoviak", speaker_role=SpeakerRole.co_host), "Adam Stacoviak", "co-host"),
    (cite(Kind.transcript, "Ann"), "Ann", ""),
    (cite(Kind.transcript), "An unlabelled speaker", ""),
    (cite(Kind.summary), "The episode's write-up", ""),
    (cite(Kind.discussion), "A discussion thread", ""),
    (cite(Kind.note, "Ann"), "Notes", ""),
])
def test_who_and_about_are_what_the_answer_and_the_web_page_show(citation, who, about):
    assert (citation.who, citation.about) == (who, about)
    dumped = citation.model_dump(mode="json")  # /ask sends them: the web page shows these, not its own labels
    assert (dumped["who"], dumped["about"]) == (who, about)
