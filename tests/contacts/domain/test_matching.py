"""The matching engine's pure parts: names, keys, scores and reasons, pairs, the scan core."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.matching import (
    block_keys,
    match_keys,
    match_profile,
    name_tokens,
    rank,
    score_pair,
    soundex,
)
from crm_contacts.domain.matching.blocking import ScanStats, scan_pairs
from crm_contacts.domain.matching.names import (
    FIRST_INITIAL_KEY,
    LAST_INITIAL_KEY,
    weak_block_keys,
)
from crm_contacts.domain.matching.pairs import dismissed_pair, new_pair, pair_id, rescored_pair
from crm_contacts.domain.matching.scoring import name_similarity, similar_names


def _p(contact_id: str, **fields: Any) -> Any:
    return match_profile({"id": contact_id, **fields})


def test_soundex_follows_the_american_rules() -> None:
    codes = [soundex(w) for w in ("robert", "rupert", "tymczak", "pfister", "ashcraft", "lee")]
    assert codes == ["R163", "R163", "T522", "P236", "A261", "L000"]


def test_names_fold_accents_case_punctuation_and_nicknames() -> None:
    assert name_tokens("Bob  O'Brien-SMITH") == ("robert", "o", "brien", "smith")
    assert name_tokens("Zoë Müller") == ("zoe", "muller")


def test_match_keys_hold_every_identifier_and_swap_free_name_blocks() -> None:
    keys = match_keys(
        {
            "name": "Bob Smith",
            "email": "bob@acme.com",
            "emails": ["b@x.io"],
            "phone": "+14155550100",
            "external_ids": {"hubspot": "42"},
        }
    )
    assert keys == [
        "e:b@x.io",
        "e:bob@acme.com",
        "p:+14155550100",
        "x:hubspot:42",
        "n:robert smith",
        "s:R163 S530",
        "l:smith r",
        "f:robert s",
    ]
    swapped = match_keys({"name": "Smith, Robert"})
    assert {"n:robert smith", "s:R163 S530"} <= set(swapped)


def test_match_keys_list_each_email_and_phone_once_sorted_with_or_without_additional_ones() -> None:
    alone = match_keys({"email": "bob@acme.com", "emails": [], "phone": None, "phones": None})
    assert alone == ["e:bob@acme.com"]
    keys = match_keys(
        {
            "email": "bob@acme.com",
            "emails": ["zed@x.io", "", "bob@acme.com", "a@x.io"],
            "phone": None,
            "phones": ["+14155550101", "+14155550100", "+14155550101"],
            "external_ids": {},
        }
    )
    assert keys == [
        "e:a@x.io",
        "e:bob@acme.com",
        "e:zed@x.io",
        "p:+14155550100",
        "p:+14155550101",
    ]
    assert match_keys({"email": "", "phone": "", "external_ids": None}) == []


def test_identifiers_score_high_and_name_alone_needs_corroboration() -> None:
    ada = _p("1", name="Ada Lovelace", email="ada@acme.com", company="Acme")
    assert score_pair(ada, _p("2", name="Someone", emails=["ada@acme.com"])) is not None
    by_email = score_pair(ada, _p("2", name="Someone", emails=["ada@acme.com"]))
    assert by_email is not None and by_email.score >= 0.95
    assert by_email.reasons == ("same_email",)
    alone = score_pair(ada, _p("3", name="ADA LOVELACE"))
    corroborated = score_pair(ada, _p("4", name="Lovelace Ada", email="a.l@acme.com"))
    assert alone is not None and corroborated is not None
    assert alone.reasons == ("similar_name",) and alone.score <= 0.7
    assert corroborated.reasons == ("similar_name", "same_email_domain")
    assert 0.7 < corroborated.score < 0.95
    # A shared free-mail domain or company alone is no reason.
    assert score_pair(ada, _p("5", name="Grace Hopper", company="Acme")) is None


def test_initials_and_external_ids_match() -> None:
    john = _p("1", name="John Smith", external_ids={"crm": "7"})
    initial = score_pair(john, _p("2", name="J. Smith"))
    assert initial is not None and initial.reasons == ("similar_name",)
    external = score_pair(john, _p("3", name="Other", external_ids=["crm:7"]))
    assert external is not None and external.reasons == ("same_external_id",)
    assert external.score == 0.99


def test_rank_orders_best_first_and_leaves_the_contact_out() -> None:
    ada = _p("1", name="Ada Lovelace", phone="+14155550100", company="Acme")
    ranked = rank(
        ada,
        [
            ada,
            _p("2", name="Ada Lovelace"),
            _p("3", name="X", phone="+14155550100"),
            _p("4", name="Grace Hopper"),
        ],
    )
    assert [m.contact_id for m in ranked] == ["3", "2"]


def test_pair_ids_are_order_free_and_dismissal_lasts_until_a_new_reason() -> None:
    assert pair_id("a", "b") == pair_id("b", "a")
    pair = new_pair(tenant="t", a="b", b="a", score=0.7, reasons=["similar_name"], now="1")
    assert pair["contact_ids"] == ["a", "b"]
    dismissed = dismissed_pair(pair, actor="key", now="2")
    same = rescored_pair(dismissed, score=0.85, reasons=["similar_name"], now="3")
    assert same is not None and same["dismissed"] is True
    back = rescored_pair(dismissed, score=0.96, reasons=["same_phone", "similar_name"], now="4")
    assert back is not None and back["dismissed"] is False
    assert rescored_pair(pair, score=0.7, reasons=["similar_name"], now="5") is None


def test_a_bare_name_matches_only_when_very_close_and_nothing_tells_them_apart() -> None:
    ada = _p("1", name="Ada Lovelace")
    # Very close names and nothing else known: a possible duplicate, scored low.
    for twin in (
        _p("2", name="LOVELACE, Ada"),
        _p("3", name="Ada Lovelac", company="Acme"),  # one side has no company
        _p("4", name="Ada Lovelace", email="ada@gmail.com"),  # free mail tells nothing
    ):
        match = score_pair(ada, twin)
        assert match is not None and match.reasons == ("similar_name",), twin
        assert 0.5 < match.score <= 0.7
    anna = _p("5", name="Anna Berg")
    # Similar but not very close (0.89): only with more evidence.
    assert score_pair(anna, _p("6", name="Anna Borg")) is None
    with_company = score_pair(
        _p("7", name="Anna Berg", company="Acme"), _p("8", name="Anna Borg", company="ACME")
    )
    assert with_company is not None and with_company.reasons == ("similar_name", "same_company")
    # The same name at two different employers: strangers with a common name.
    at_acme = _p("9", name="Ada Lovelace", company="Acme")
    assert score_pair(at_acme, _p("10", name="Ada Lovelace", company="Globex")) is None
    by_domain = _p("11", name="Ada Lovelace", email="ada@acme.com")
    assert score_pair(by_domain, _p("12", name="Ada Lovelace", email="ada@globex.com")) is None
    # ... unless they share an identifier: then the name is one more reason.
    shared_phone = score_pair(
        _p("13", name="Ada Lovelace", company="Acme", phone="+14155550100"),
        _p("14", name="Ada Lovelace", company="Globex", phones=["+14155550100"]),
    )
    assert shared_phone is not None
    assert shared_phone.reasons == ("same_phone", "similar_name")


def test_scan_finds_each_pair_once_across_blocks_by_the_bare_name_rule() -> None:
    profiles = [
        _p("1", name="Ada Lovelace", email="ada@acme.com", company="Acme"),
        _p("2", name="Lovelace Ada", email="ada@acme.com"),
        _p("3", name="Ada Lovelac", company="Acme"),
        _p("4", name="Grace Hopper"),
        # Very close to 1-3 by name, but at another employer than 1 and 3 and another work
        # domain than 1 and 2: a stranger to them all.
        _p("5", name="Ada Lovelace", email="ada@globex.com", company="Globex"),
        # A bare name, very close to 4 and nothing tells them apart: listed.
        _p("6", name="Grace Hoper", company="Navy"),
        # Similar names (0.89) but not very close, and no other evidence: not listed.
        _p("7", name="Anna Berg"),
        _p("8", name="Anna Borg"),
    ]
    stats = ScanStats()
    found = scan_pairs(profiles, stats)
    pairs = {tuple(sorted((a.id, m.contact_id))) for a, m in found}
    assert pairs == {("1", "2"), ("1", "3"), ("2", "3"), ("4", "6")}
    assert len(found) == 4 and stats.contacts == 8
    assert stats.scored_pairs > len(found)  # the strangers were compared, then left out


def test_a_surname_typo_that_changes_its_sound_shares_only_the_first_name_block() -> None:
    # "Slmith" sounds S453, "Smith" S530: the exact, sound and last-name blocks all differ.
    smith, slmith = match_keys({"name": "John Smith"}), match_keys({"name": "John Slmith"})
    assert set(smith) & set(slmith) == {"f:john s"}


def test_scan_finds_a_surname_typo_through_first_name_and_last_initial() -> None:
    profiles = [
        _p("1", name="Maria Gonzalez", email="maria@gmail.com", company="Acme"),
        _p("2", name="Maria Gonzarlez", email="mg@yahoo.com", company="Acme"),
        _p("3", name="Maria Garcia", company="Globex"),
    ]
    found = scan_pairs(profiles)
    assert [(a.id, m.contact_id, m.reasons) for a, m in found] == [
        ("1", "2", ("similar_name", "same_company"))
    ]


def test_scan_compares_holders_of_a_common_name_only_within_a_company() -> None:
    profiles = [_p(f"s{i}", name="John Smith", company=f"{i:03d} Ltd") for i in range(40)]
    profiles.append(_p("twin", name="John Smyth", company="007 Ltd"))
    found = scan_pairs(profiles)
    pairs = {tuple(sorted((a.id, m.contact_id))) for a, m in found}
    assert pairs == {("s7", "twin")}


def test_scan_pairs_an_initial_with_the_full_first_name_in_a_large_block() -> None:
    profiles = [_p(f"s{i}", name=f"Jo{'a' * i}n Smith", company="Acme") for i in range(40)]
    profiles.append(_p("initial", name="J. Smith", company="Acme"))
    found = scan_pairs(profiles)
    with_initial = {m.contact_id if a.id == "initial" else a.id for a, m in found} - {"initial"}
    assert {"s0", "s1", "s39"} <= with_initial


def test_the_name_pre_filter_keeps_what_name_similarity_calls_similar() -> None:
    probe = _p("p", name="John Slmith")
    names = [
        "John Sanderson",
        "Smith, John",
        "J. Slmith",
        "John Slmiht",
        "Jon Slmith",
        "John Sloane",
        "",
    ]

    kept = similar_names(probe, names)

    assert kept == [1, 2, 3]  # "Jon Slmith" is just below the line (0.846)
    similar = [at for at, n in enumerate(names) if name_similarity(probe, _p("c", name=n)) >= 0.85]
    assert kept == similar


def test_the_weak_block_keys_are_those_a_name_is_stored_with() -> None:
    # A re-match round derives a holder's weak blocks from its name alone: they must be the
    # ones `block_keys` stores, whatever the accents, nicknames, punctuation or word count.
    for name in ("Bob Dylan", "Zoë  MÜLLER", "J. Smith", "Mary Ann O'Neil", "Cher", "", "—"):
        tokens = name_tokens(name)
        stored = [
            k for k in block_keys(tokens) if k.startswith((LAST_INITIAL_KEY, FIRST_INITIAL_KEY))
        ]
        assert list(weak_block_keys(tokens)) == stored
    assert weak_block_keys(name_tokens("Bob Dylan")) == ("l:dylan r", "f:robert d")


def test_match_profile_domains_are_the_distinct_work_domains_of_the_emails() -> None:
    def domains(*emails: str) -> tuple[str, ...]:
        doc = {"id": "c", "name": "Ada", "email": emails[0], "emails": list(emails[1:])}
        return match_profile(doc).domains

    assert domains("ada@acme.com") == ("acme.com",)
    assert domains("ada@gmail.com") == ()
    # In the order of the sorted email keys they are read from.
    many = domains("ada@gmail.com", "ada@work.io", "a@acme.com", "b@work.io")
    assert many == ("acme.com", "work.io")
