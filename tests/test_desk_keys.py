"""The desk on a sealed station: an editor whose key the station keeps under a passphrase has it unlocked at
login, in the server's memory, for that session only; the private block and the register open for them and for
no one else; at logout or expiry the key is forgotten, and nothing decrypted is ever written to disk."""

from __future__ import annotations

import gc
import re
import weakref

import pytest

from tests.canary import leaks
from tests.conftest import copy_station, runner_for
from tests.desk_util import PASSWORD, Client, Desk, add_accounts
from tests.test_keys import REPORT, new_key, sealed_canaries


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """A station sealed to maria, her key kept in it under her desk password; ines is an editor without one."""
    tmp = tmp_path_factory.mktemp("sealed")
    root = copy_station(tmp / "station")
    canaries = sealed_canaries(root)
    # the report's correspondent in the register, so the private view shows the register's entry too
    report = next((root / "episodes").glob(f"*/reports/{REPORT}.md")).read_text()
    pseudonym = re.search(r"correspondent: (CANARYCORRESPONDENT\d+X)", report)[1]
    canaries.append("CANARYNAME900X")
    with (root / "private" / "correspondents.yaml").open("a") as f:
        f.write(f"{pseudonym}: {{name: CANARYNAME900X}}\n")
    key, public = new_key(tmp, "maria")
    run = runner_for(root)
    assert run("keys", "init", "maria", public).exit_code == 0
    r = run("--identity", str(key), "keys", "passphrase", "maria", env={"RADIO_PASSPHRASE": PASSWORD})
    assert r.exit_code == 0, r.err
    add_accounts(root, {"maria": "editor", "ines": "editor"})
    assert leaks([root], canaries) == []
    return root, canaries


@pytest.fixture(scope="module")
def desk(sealed, tmp_path_factory):
    root, _ = sealed
    mp = pytest.MonkeyPatch()
    mp.delenv("RADIO_IDENTITY", raising=False)  # the server holds no key of its own
    mp.delenv("RADIO_PASSPHRASE", raising=False)
    d = Desk(root, tmp_path_factory.mktemp("log"))
    mp.undo()
    yield d
    d.stop()


def private_of(c: Client) -> tuple[int, str]:
    status, _, body = c.get(f"/desk/r/{REPORT}/private")
    return status, body


def test_login_unlocks_the_editors_key_for_that_session_only(desk, sealed):
    root, canaries = sealed
    maria = Client(desk)
    assert maria.login("maria") == 303
    status, page = private_of(maria)
    assert status == 200, page
    shown = [c for c in canaries if c in page]
    assert any(c.startswith("CANARYCONTACT") for c in shown), shown  # the private block, decrypted
    assert "CANARYNAME900X" in page  # and the register's entry for its correspondent
    # another editor, logged in at the same time, has no key of her own kept: she is told what is needed
    ines = Client(desk)
    assert ines.login("ines") == 303
    status, page = private_of(ines)
    assert status == 403 and not [c for c in canaries if c in page]
    assert "No key is kept for ines in the station: an editor with the key runs `radio keys passphrase ines`" in page
    # log out: the session, and the key it held, are gone
    cookie = dict(maria.cookies)
    assert maria.post("/logout")[0] == 303
    stale = Client(desk)
    stale.cookies = cookie
    status, headers, _ = stale.get(f"/desk/r/{REPORT}/private")
    assert status == 303 and headers["location"][0].startswith("/login?")
    # logging in again with a passphrase that does not open the key: the desk opens, the private block does not
    again = Client(desk)
    from tests.desk_util import otp_now
    again.get("/login")
    status, _, _ = again.post("/login", {"username": "maria", "password": PASSWORD, "otp": otp_now(root, "maria"),
                                         "passphrase": "not the passphrase it is kept under"})
    assert status == 303
    status, page = private_of(again)
    assert status == 403 and "Your key did not open with that passphrase" in page
    assert not [c for c in canaries if c in page]
    # nothing decrypted reached the station's files, the audit log or the server's output
    assert leaks([root, desk.seen / "server.log"], canaries) == []
    # sealing again leaves the desk's own files as they must be (plain, 0600), and everyone can still log in
    r = runner_for(root)("keys", "seal")
    assert r.exit_code == 0, r.err
    kept = sorted(p.name for p in (root / "private" / "desk").iterdir())
    assert "users.json" in kept and "audit.jsonl" in kept and not [n for n in kept if n.endswith((".age", ".ages"))]
    assert Client(desk).login("ines") == 303


def test_a_session_forgets_its_key_at_logout_and_at_expiry(sealed):
    from radio.keys import keyring
    from radio.station import Station
    from radio.web import sessions
    root, _ = sealed
    station = Station.open(root)
    now = [1_000_000.0]
    s = sessions.Sessions(b"k" * 32, clock=lambda: now[0])
    refs = []
    for _ in range(2):
        one, _ = s.start("maria", "editor")
        ring = keyring.unlock(station, "maria", PASSWORD)
        one.unlocked["keyring"] = ring
        refs.append((one, weakref.ref(ring)))
        del ring
    first, second = refs
    s.end(first[0].sid)  # logout
    gc.collect()
    assert first[1]() is None and second[1]() is not None
    now[0] += sessions.IDLE_S + 1  # the second runs out without anyone coming back to it
    s.get(None)
    gc.collect()
    assert second[1]() is None and second[0].unlocked == {}


def test_hostile_names_and_passphrases_at_login_unlock_nothing_and_say_one_line(sealed):
    from hypothesis import HealthCheck, given, settings, strategies as st

    from radio.station import Station
    from radio.web.login import unlock_at_login
    root, _ = sealed
    station = Station.open(root)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=st.one_of(st.sampled_from(["../maria", "maria/../../x", "MARIA", "maria\x00", "", "ines", " maria"]),
                          st.text(max_size=40)))
    def names(name):
        ring, why = unlock_at_login(station, name, PASSWORD)
        assert ring is None and why and "\n" not in why and str(root) not in why

    names()

    @settings(max_examples=3, deadline=None)  # each try runs scrypt, as a login does
    @given(phrase=st.text(max_size=200).filter(lambda p: p != PASSWORD))
    def phrases(phrase):
        ring, why = unlock_at_login(station, "maria", phrase)
        assert ring is None and why.startswith("Your key did not open with that passphrase")

    phrases()
