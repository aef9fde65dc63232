"""Passkeys on the desk, in real Chromium with its virtual authenticator (WebAuthn, CTAP2): a producer adds one
and logs in with the password and the passkey instead of the code; the station keeps only public keys; hostile
answers, a wrong password, an IP address and a used or expired login are refused, never a server error."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser import chrome, needs_chromium, until
from tests.conftest import copy_station, runner_for
from tests.desk_util import PASSWORD, Client, Desk, add_accounts, otp_now


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    root = copy_station(tmp_path_factory.mktemp("passkeys") / "station")
    add_accounts(root, {"pat": "producer", "hana": "host"})
    d = Desk(root, tmp_path_factory.mktemp("log"))
    d.named = f"http://localhost:{d.port}"  # a passkey is bound to a name, never to an IP address
    yield d
    d.stop()


def _fill(driver, desk: Desk, name: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    driver.get(desk.named + "/login?next=/produce")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)


@needs_chromium
def test_a_producer_adds_a_passkey_and_logs_in_with_it(desk):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
    from tests.test_desk import _axe_both
    driver = chrome()
    try:
        driver.add_virtual_authenticator(VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True, has_user_verification=True,
            is_user_consenting=True, is_user_verified=True))
        # first with the code, as today; then a passkey from the Passkeys page
        _fill(driver, desk, "pat")
        driver.find_element(By.ID, "otp").send_keys(otp_now(desk.root, "pat"))
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        until(driver, "return location.pathname === '/produce'")
        driver.get(desk.named + "/passkeys")
        driver.find_element(By.ID, "passkey-add").click()
        until(driver, "return document.getElementById('passkeys').textContent.includes('Passkey added')")
        problems: list = []
        _axe_both(driver, "/passkeys", problems)
        users = json.loads((desk.root / "private" / "desk" / "users.json").read_text())["users"]
        (key,) = next(u for u in users if u["name"] == "pat")["passkeys"]
        assert sorted(key) == ["added", "count", "id", "key"]  # an id, a public key and a count: no secret
        assert "pat   producer  totp, 1 passkey" in runner_for(desk.root)("users", "list").out
        # a wrong password is refused before any passkey is asked for
        _fill(driver, desk, "pat", "not the password at all")
        driver.find_element(By.ID, "passkey-login").click()
        until(driver, "return document.getElementById('passkey-status').textContent === 'Wrong name or password.'")
        # the password and the passkey, no code: in, where the login was going
        _fill(driver, desk, "pat")
        _axe_both(driver, "/login", problems)
        driver.find_element(By.ID, "passkey-login").click()
        until(driver, "return location.pathname === '/produce'")
        assert "pat (producer)" in driver.find_element(By.CSS_SELECTOR, ".who").text
        # an account without a passkey is told to use its code
        _fill(driver, desk, "hana")
        driver.find_element(By.ID, "passkey-login").click()
        until(driver, "return document.getElementById('passkey-status').textContent.startsWith("
                       "'This account has no passkey yet')")
        assert problems == []
    finally:
        driver.quit()
    log = (desk.root / "private" / "desk" / "audit.jsonl").read_text()
    assert '"who": "pat", "what": "passkey added"' in log


def test_hostile_answers_are_refused_and_never_an_error(desk):
    from hypothesis import HealthCheck, given, settings, strategies as st
    named = {"Host": f"localhost:{desk.port}"}
    c = Client(desk)
    c.get("/login")
    # by IP address: said in one line
    status, _, body = c.send("POST", "/api/login/passkey/options",
                             json.dumps({"username": "pat", "password": PASSWORD}).encode(), "application/json")
    assert status == 400 and "passkeys need the desk's name in the address bar" in json.loads(body)["error"]
    anything = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                            lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids,
                                                                                      max_size=4), max_leaves=12)
    bodies = st.one_of(st.binary(max_size=200), anything.map(lambda v: json.dumps(v).encode()),
                       st.fixed_dictionaries({"nonce": st.text(max_size=40), "credential": anything}).map(
                           lambda v: json.dumps(v).encode()))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(path=st.sampled_from(["/api/login/passkey", "/api/login/passkey/options"]), body=bodies)
    def post(path, body):
        status, _, data = c.send("POST", path, body, "application/json",
                                 headers={**named, "Origin": f"http://localhost:{desk.port}"})
        assert status in (400, 401, 429), (status, data)

    post()


def test_a_waiting_login_works_once_and_not_after_its_time():
    from radio.web.passkeys import CHALLENGE_S, Pending
    now = [100.0]
    p = Pending(clock=lambda: now[0])
    nonce = p.put("pat", b"challenge", "phrase")
    assert p.take(nonce) == ("pat", b"challenge", "phrase")
    assert p.take(nonce) is None  # used
    late = p.put("pat", b"another", "phrase")
    now[0] += CHALLENGE_S + 1
    assert p.take(late) is None  # too late
    assert p.take(None) is None and p.take(["not", "a", "nonce"]) is None
