"""The Store contract, the entity graph's part (entities, aliases, memory links): every
backend runs it unchanged, with the builders of :mod:`tests.test_store_contract`."""

from __future__ import annotations

from datetime import timedelta

from .test_store_contract import T0, mem


def test_entities_link_find_and_count(store):
    a, b, c = mem("Melanie paints"), mem("Mel went to the Louvre"), mem("Caroline and Melanie hiked")
    store.insert_memories([a, b, c])
    store.link_entities("s1", "u1", [(a.id, [("Melanie", "person")]),
                                     (b.id, [("Mel", "person"), ("the Louvre", "place")]),
                                     (c.id, [("Caroline", "person"), ("Melanie's", "person")]),
                                     (c.id, [("Melanie", "person")]),  # a second link is the same link
                                     ("mem_unknown", [("Nobody", "person")])], T0)
    (mel,) = store.find_entities("s1", ["melanie"], user_id="u1")
    assert mel.name == "Melanie" and mel.kind == "person" and mel.mentions == 3 and mel.aliases == ["Mel"]
    assert [e.id for e in store.find_entities("s1", ["Mel"])] == [mel.id]  # found by an alias
    assert store.find_entities("s1", ["Nobody"]) == [] and store.find_entities("s2", ["Melanie"]) == []
    assert store.find_entities("s1", ["Melanie"], user_id="u2") == []
    louvre = store.find_entities("s1", ["Louvre"])[0]
    assert louvre.kind == "place" and louvre.name == "the Louvre"
    of = store.entities_of("s1", [a.id, b.id, c.id])
    assert {e.name for e in of[b.id]} == {"Melanie", "the Louvre"} and len(of[c.id]) == 2
    assert store.entities_of("s2", [a.id]) == {}
    assert set(store.entity_memories("s1", [mel.id])[mel.id]) == {a.id, b.id, c.id}
    assert len(store.entity_memories("s1", [mel.id], limit=2)[mel.id]) == 2
    related = {e.name: n for e, n in store.related_entities("s1", mel.id)}
    assert related == {"the Louvre": 1, "Caroline": 1}


def test_entities_are_per_user_and_widen_their_times(store):
    a, b = mem("Jo at work", user="u1"), mem("Jo at home", user="u2")
    store.insert_memories([a, b])
    store.link_entities("s1", "u1", [(a.id, [("Jo Smith", "person")])], T0)
    store.link_entities("s1", "u1", [(a.id, [("Jo Smith", "person")])], T0 + timedelta(days=3))
    store.link_entities("s1", "u2", [(b.id, [("Jo Smith", "person")])], T0 - timedelta(days=1))
    mine = store.find_entities("s1", ["Jo Smith"], user_id="u1")[0]
    assert (mine.first_at, mine.last_at) == (T0, T0 + timedelta(days=3))
    assert len(store.find_entities("s1", ["Jo Smith"])) == 2  # one per user


def test_entities_go_with_the_last_memory_that_mentions_them(store):
    a, b = mem("Pepper the dog", conv="c1"), mem("Pepper again", conv="c2")
    store.insert_memories([a, b])
    store.link_entities("s1", "u1", [(a.id, [("Pepper", "pet"), ("Miso", "pet")]), (b.id, [("Pepper", "pet")])], T0)
    store.delete_memories("s1", [a.id])
    assert store.find_entities("s1", ["Miso"]) == []  # no memory mentions it: its name is gone
    (pepper,) = store.find_entities("s1", ["Pepper"])
    assert pepper.mentions == 1
    store.forget("s1", conversation_id="c2")
    assert store.find_entities("s1", ["Pepper"]) == []


def test_a_users_entities_page_by_page_and_one_by_id(store):
    a, b = mem("Jo at work", user="u1"), mem("Ann in Leeds", user="u1")
    store.insert_memories([a, b])
    store.link_entities("s1", "u1", [(a.id, [("Jo", "person")])], T0)
    store.link_entities("s1", "u1", [(b.id, [("Ann", "person"), ("Leeds", "place")])], T0 + timedelta(days=2))
    names = [e.name for e in store.list_entities("s1", "u1")]
    assert names[-1] == "Jo" and set(names) == {"Jo", "Ann", "Leeds"}  # most recently mentioned first
    assert [e.name for e in store.list_entities("s1", "u1", limit=1, offset=2)] == ["Jo"]
    assert store.list_entities("s1", "u2") == [] and store.list_entities("s2", "u1") == []
    jo = store.list_entities("s1", "u1")[-1]
    assert store.get_entity("s1", jo.id) == jo and store.get_entity("s2", jo.id) is None
    assert store.get_entity("s1", "ent_missing") is None
