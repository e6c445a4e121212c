"""Speakers' parts in an episode: declared by the sidecar, else inferred from how the episode runs."""
from __future__ import annotations

from collections import Counter

from core.models import Document, Kind, Segment, SpeakerRole as P
from ingest.speakers import appearances, infer_parts, show_of


def episode(turns: list[tuple[str, str]], source: str = "show/ep1.md", meta: dict | None = None,
            speakers: dict | None = None) -> Document:
    segs = [Segment(text=t, char_start=0, char_end=len(t), speaker=s, kind=Kind.transcript) for s, t in turns]
    names = speakers or {s: s for s, _ in turns}
    return Document(id="ep", title="Ep", source=source, kind=Kind.transcript, segments=segs, speakers=names,
                    meta=meta or {})


INTERVIEW = [("Ann", "Welcome to the show. What do you do?"), ("Bob", "I build databases at Acme."),
             ("Ann", "Why databases?"), ("Bob", "Because storage is where the hard problems are."),
             ("Ann", "Thanks for coming on.")]


def test_the_one_who_opens_closes_and_asks_is_the_host():
    assert infer_parts(episode(INTERVIEW)) == {"Ann": P.host, "Bob": P.guest}


def test_saying_so_outweighs_opening_the_episode():
    turns = [("Bob", "Glad to be here."), ("Ann", "I'm your host, Ann. So, what brings you here?"),
             ("Bob", "A long story about databases."), ("Bob", "Bye.")]
    assert infer_parts(episode(turns))["Ann"] == P.host


def test_the_host_is_the_one_an_announcer_names_and_who_introduces_the_guest():
    """A diarized show (The Seen and the Unseen): a recorded voice opens and closes every episode and says
    "your host"; the host is the one it names, who then says "My guest today is…"."""
    turns = [("Unknown", "IVM."), ("Amit Varma", "In the 27 years since then, the threats to reading multiplied."),
             ("Unknown", "Welcome to The Seen and The Unseen. Please welcome your host, Amit Bharma."),
             ("Amit Varma", "Welcome to The Seen and The Unseen. My guest today is VK Karthikeya. How did it start?"),
             ("Guest", "It happened entirely by accident."), ("Unknown", "On this podcast, we stay away from gossip.")]
    # "Unknown" is the diarizer's bucket for voices it could not tell apart: no part, not a guest
    assert infer_parts(episode(turns)) == {"Amit Varma": P.host, "Guest": P.guest}
    # said outright, it outweighs opening the episode and asking more questions
    two = [("Guest 2", "Welcome to the IBM Podcast Network. Ready?"), ("Amit Varma", "I have two guests with me."),
           ("Pawan", "Farmers are the backbone of the country?"), ("Guest 2", "Is that so? Really?"),
           ("Unknown", "Bye.")]
    assert infer_parts(episode(two))["Amit Varma"] == P.host


def test_the_shows_regular_voice_hosts_though_the_guest_asks_back_and_closes():
    """Ship It 29: the guest asks the host questions too, and has the last word; the host is the one heard in
    every episode of the show. A question asked in passing inside a turn is no handing over."""
    turns = [("Gerhard", "Well, hi, Zac. Welcome."), ("Zac", "Well, Gerhard, it took a year? But we're ready now."),
             ("Gerhard", "Were you at KubeCon?"), ("Zac", "In October, was it?"), ("Gerhard", "Yes."),
             ("Zac", "No. Did you get the cookbook?"), ("Gerhard", "I didn't, no."), ("Zac", "Bye, everyone.")]
    heard = appearances([("shipit/ep%d.md" % i, ["Gerhard"]) for i in range(5)])
    assert infer_parts(episode(turns, source="shipit/ep29.md"), heard) == {"Gerhard": P.host, "Zac": P.guest}


def test_a_regular_voice_of_the_show_besides_the_host_is_a_co_host():
    turns = [("Ann", "Welcome. What is new?"), ("Cid", "Lots, Ann. Bob, what do you think?"),
             ("Bob", "Databases are hard."), ("Ann", "Bye.")]
    heard = appearances([("show/ep%d.md" % i, ["Ann", "Cid"]) for i in range(4)] + [("show/ep1.md", ["Bob"])])
    assert infer_parts(episode(turns), heard) == {"Ann": P.host, "Cid": P.co_host, "Bob": P.guest}


def test_a_guest_of_a_multi_part_series_who_thanks_the_host_stays_a_guest():
    """Heard in a third episode of the show (part three of an interview), but thanking the host for having them:
    a guest, not a co-host, and not the host either."""
    turns = [("Ann", "We're back. This is part three, Sam."), ("Sam", "Thanks for having me again, Ann."),
             ("Ann", "What happened next?"), ("Sam", "We sold the company."), ("Ann", "Bye.")]
    heard = appearances([("show/ep%d.md" % i, ["Ann", "Sam"]) for i in range(3)] + [("show/ep3.md", ["Ann"])])
    assert infer_parts(episode(turns), heard) == {"Ann": P.host, "Sam": P.guest}
    turns[1] = ("Sam", "Good to be back, Ann.")  # a regular voice greets: a co-host
    assert infer_parts(episode(turns), heard) == {"Ann": P.host, "Sam": P.co_host}


def test_sidecar_lists_decide_by_short_or_full_name():
    doc = episode(INTERVIEW, meta={"hosts": ["Bob Smith"], "guests": "Ann"},
                  speakers={"Ann": "Ann Lee", "Bob": "Bob Smith"})
    assert infer_parts(doc) == {"Ann": P.guest, "Bob": P.host}
    doc = episode(INTERVIEW, meta={"speaker_roles": {"Ann": "co-host", "Nobody": "host", "Bob": "bogus"}})
    assert infer_parts(doc)["Ann"] == P.co_host


def test_nobody_asking_nobody_hosting():
    turns = [("Ann", "Trust is built slowly."), ("Bob", "Pipelines ship code daily."), ("Ann", "Write decisions down.")]
    assert infer_parts(episode(turns)) == {}


def test_a_monologue_has_no_inferred_parts():
    assert infer_parts(episode([("Ann", "Today a short solo episode about focus.")])) == {}


def test_show_is_the_folder_the_file_is_in():
    assert show_of("/data/changelog/gotime/go-time-1.md") == "/data/changelog/gotime"
    assert show_of("/data/gotime/go-time-2.md") == show_of("/data/gotime/go-time-3.md")  # whatever was ingested
    assert appearances([("a/1.md", ["X", "X"]), ("a/2.md", ["X"]), ("b/1.md", ["X"])]) == Counter(
        {("a", "X"): 2, ("b", "X"): 1})
