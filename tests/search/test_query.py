from search.query import SpeakerProfile, linked_speakers, query_terms

PROFILES = [
    SpeakerProfile(episode_id="ep1", short="Bruce", full="Bruce Wang", role="Director of Engineering at Netflix"),
    SpeakerProfile(episode_id="ep1", short="Alexis", full="Alexis Monville"),
    SpeakerProfile(episode_id="ep2", short="Maria", full="Maria Bracho", role="CTO for LATAM at Red Hat"),
]


def test_query_terms_keep_content_words_once():
    assert query_terms("What does Bruce Wang's team say about the team?") == ["bruce", "wang", "team"]


def test_speakers_are_linked_by_first_or_last_name():
    assert linked_speakers("What does Bruce say about trust?", PROFILES) == {("ep1", "Bruce")}
    assert linked_speakers("Wang on gardening", PROFILES) == {("ep1", "Bruce")}
    assert linked_speakers("What did Maria Bracho advise?", PROFILES) == {("ep2", "Maria")}


def test_roles_and_unrelated_words_do_not_link():
    assert linked_speakers("How does a Netflix director build relationships?", PROFILES) == set()
    assert linked_speakers("How to lead change at scale", PROFILES) == set()


def test_contractions_are_split_before_stop_words_are_dropped():
    assert query_terms("It's what we're doing, don't ask") == ["ask"]
    assert query_terms("Red Hat's CTO and Pearlside’s vision") == ["red", "hat", "cto", "pearlside", "vision"]
    assert "won" in query_terms("we won the deal")
