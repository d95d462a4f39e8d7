"""API keys: labels as the actor, a file of hashed keys, rotation without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_shared import auth
from crm_shared.actors import key_actor
from crm_shared.auth import (
    ApiKeyAuthenticator,
    Principal,
    fingerprint,
    key_hash,
    parse_api_keys,
    parse_key_file,
)
from crm_shared.problems import Unauthorized
from crm_shared.service import authenticator_for
from crm_shared.settings import PlatformSettings


def _bearer(key: str) -> str:
    return f"Bearer {key}"


def test_a_labelled_key_is_recorded_by_its_label_an_unlabelled_one_by_its_fingerprint() -> None:
    keys = parse_api_keys("k1:acme:admin:ci-bot,k2:acme:viewer")
    assert keys["k1"].key_id == "key:ci-bot"
    assert keys["k2"].key_id == key_actor(fingerprint("k2"))


@pytest.mark.parametrize("label", ["ada@example.com", "", "has space", "x" * 65])
def test_a_label_that_could_hold_personal_data_or_is_not_plain_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="label"):
        parse_api_keys(f"k1:acme:admin:{label}")


def test_the_key_file_holds_hashes_and_authenticates_the_keys_behind_them(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated 2026-11\n{key_hash('s3cret')}:acme:editor:importer-bot\n")
    authenticator = ApiKeyAuthenticator({}, key_file=key_file)
    principal = authenticator.authenticate(_bearer("s3cret"))
    assert (principal.key_id, principal.tenant, principal.roles) == (
        "key:importer-bot",
        "acme",
        frozenset({"editor"}),
    )
    with pytest.raises(Unauthorized):
        authenticator.authenticate(_bearer(key_hash("s3cret")))  # the hash is not a key


def test_a_rotated_key_file_takes_effect_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RELOAD_CHECK_SECONDS", 0.0)
    key_file = tmp_path / "keys"
    key_file.write_text(f"{key_hash('old-key')}:acme:admin:ops\n")
    authenticator = ApiKeyAuthenticator({}, key_file=key_file)
    assert authenticator.authenticate(_bearer("old-key")).key_id == "key:ops"

    key_file.write_text(f"{key_hash('new-key')}:acme:admin:ops\n")
    os.utime(key_file, (1, 1))  # a new modification time, whatever the clock's resolution
    assert authenticator.authenticate(_bearer("new-key")).key_id == "key:ops"
    with pytest.raises(Unauthorized):
        authenticator.authenticate(_bearer("old-key"))


class _RecordingIssuer:
    """An issuer recording what it is asked (asking may fetch its keys over the network)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def verify(self, token: str) -> Principal:
        self.asked.append(token)
        return Principal(key_id="user:ada", tenant="acme", roles=frozenset({"viewer"}))


def test_the_key_check_answers_keys_itself_and_leaves_only_a_jwt_to_the_issuer() -> None:
    issuer = _RecordingIssuer()
    authenticator = ApiKeyAuthenticator(parse_api_keys("k1:acme:admin:ci-bot"), tokens=issuer)
    found = authenticator.authenticate_key(_bearer("k1"))
    assert found is not None and found.key_id == "key:ci-bot"
    assert authenticator.authenticate_key(_bearer("a.b.c")) is None
    with pytest.raises(Unauthorized):
        authenticator.authenticate_key(_bearer("not-a-key"))
    with pytest.raises(Unauthorized):
        authenticator.authenticate_key("Basic k1")
    assert issuer.asked == []
    assert authenticator.authenticate(_bearer("a.b.c")).key_id == "user:ada"
    assert issuer.asked == ["a.b.c"]


def test_a_broken_key_file_keeps_the_keys_already_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RELOAD_CHECK_SECONDS", 0.0)
    key_file = tmp_path / "keys"
    key_file.write_text(f"{key_hash('kept')}:acme:viewer:dash\n")
    authenticator = ApiKeyAuthenticator({}, key_file=key_file)
    key_file.write_text("kept:acme:viewer:dash\n")  # a plain key: refused, never loaded
    os.utime(key_file, (2, 2))
    assert authenticator.authenticate(_bearer("kept")).key_id == "key:dash"


def test_a_key_file_line_must_be_a_hash_with_tenant_roles_and_label() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_key_file(f"{key_hash('a')}:acme:admin:ok\n{key_hash('b')}:acme:admin\n")


def test_production_accepts_a_key_file_alone_and_then_has_no_development_key(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"{key_hash('prod-key')}:acme:admin:ops\n")
    settings = PlatformSettings(
        crm_env="production",
        crm_api_keys_file=str(key_file),
        crm_suppression_key="a-real-secret",
    )
    authenticator = authenticator_for(settings)
    assert authenticator.authenticate(_bearer("prod-key")).tenant == "acme"
    with pytest.raises(Unauthorized):
        authenticator.authenticate(_bearer("dev-admin-key"))


def test_the_helper_prints_the_line_to_put_in_the_key_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert auth.main(["k", "acme", "admin+editor", "ops"]) == 0
    assert capsys.readouterr().out.strip() == f"{key_hash('k')}:acme:admin+editor:ops"
