"""One actor format, `<kind>:<name>`: API keys by label or fingerprint, imports, system tasks."""

from __future__ import annotations

import re

import pytest

from crm_shared.actors import ACTOR_PATTERN, import_actor, system_actor
from crm_shared.auth import parse_api_keys


def test_a_labelled_key_acts_under_its_label() -> None:
    keys = parse_api_keys("s3cret-key:acme:editor:crm-sync,other-key:acme:viewer")

    assert keys["s3cret-key"].key_id == "key:crm-sync"
    assert keys["s3cret-key"].tenant == "acme"


def test_an_unlabelled_key_acts_under_its_fingerprint_never_the_key() -> None:
    actor = parse_api_keys("s3cret-key:acme:editor")["s3cret-key"].key_id

    assert re.fullmatch(r"key:[0-9a-f]{12}", actor)
    assert "s3cret" not in actor


@pytest.mark.parametrize("label", ["", "has space", "x" * 65, "-leading-dash", "a:b"])
def test_a_label_that_is_not_plain_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        parse_api_keys(f"k:acme:admin:{label}")


def test_every_kind_of_actor_has_the_same_shape() -> None:
    actors = [
        parse_api_keys("k:acme:admin:ops")["k"].key_id,
        parse_api_keys("k:acme:admin")["k"].key_id,
        import_actor("01J9ZJOB"),
        system_actor("erasure"),
    ]
    assert all(re.match(ACTOR_PATTERN, actor) for actor in actors)
