"""Three hand-written excerpts, numbered as an extractive answer numbers its points."""
from __future__ import annotations

from core.models import Citation, EpisodeRef, Kind, Point, SpeakerRole

MARIA = ("When I joined Red Hat in 2019, my team had ten engineers. Within three years we had grown to forty, and "
         "the hardest part was letting go of the code. You have to trust people to make their own decisions.")
ALEXIS = ("Trust is the foundation of leading change at scale. If people do not feel safe, they will not tell you "
          "what is going wrong.")
NOTES = ("Hiring the first manager: promote from within when someone already mentors others. 40% of new managers "
         "leave within two years without support.")


def point(n: int, passage: str, excerpt: str, **citation) -> Point:
    start = passage.index(excerpt)
    defaults = dict(chunk_id=100 + n, speaker=None, start=None, end=None, episode=EpisodeRef(id=f"ep{n}", title="Notes"),
                    source=f"ep{n}.txt", char_start=1000 * n, char_end=1000 * n + len(passage))
    return Point(text=excerpt, citation=Citation(n=n, text=passage, quote=excerpt, quote_char_start=1000 * n + start,
                                                 quote_char_end=1000 * n + start + len(excerpt),
                                                 **{**defaults, **citation}))


def points() -> list[Point]:
    episode = EpisodeRef(id="leading-change-with-maria-bracho", title="Leading Change with Maria Bracho")
    return [
        point(1, MARIA, "Within three years we had grown to forty, and the hardest part was letting go of the code.",
              speaker="Maria", speaker_name="Maria Bracho", speaker_role=SpeakerRole.guest,
              speaker_title="CTO for LATAM at Red Hat", start="00:12:10", end="00:12:50", at="00:12:24",
              episode=episode),
        point(2, ALEXIS, "Trust is the foundation of leading change at scale.", speaker="Alexis",
              speaker_name="Alexis Monville", speaker_role=SpeakerRole.host, start="00:03:10", end="00:03:30",
              at="00:03:10", episode=EpisodeRef(id="trust-at-scale", title="Trust at Scale")),
        point(3, NOTES, NOTES, kind=Kind.note, episode=EpisodeRef(id="team-notes", title="Team notes")),
    ]
