"""`radio send WEEK --to press`: each new or changed item to the newsrooms, on the real aiosmtpd server."""

from __future__ import annotations

import email
import json
from email import policy

from tests.canary import leaks, plant
from tests.conftest import WEEK, runner_for
from tests.test_mail_send import env_for, mail_station, smtp  # noqa: F401  (the SMTP server fixture)

PRESS_LIST = """\
address,organisation,language,format
desk@daily.example.org,The Daily Example (fictional),en,text
redaction@quotidien.example.net,Le Quotidien (fictional),fr,text
"""


def test_press_items_are_mailed_once_per_version_with_the_item_attached(tmp_path, smtp):  # noqa: F811
    root = mail_station(tmp_path / "st", smtp["port"], editions=True)
    canaries = plant(root)
    (root / "private" / "press.csv").write_text(PRESS_LIST)
    report = root / "episodes" / WEEK / "reports" / "warehouse-pickers-heat.md"
    report.write_text(report.read_text().replace("\nprivate:", "\nembargo: 2025-11-23 18:00\nprivate:", 1))
    run = runner_for(root)
    env = env_for(smtp)
    smtp["store"].clear()
    r = run("send", WEEK, "--to", "press", env=env)
    assert (r.exit_code, r.err) == (1, f"error: no press items for {WEEK} yet (run `radio press {WEEK}` first)\n")
    assert run("press", WEEK, "--edition", "en").exit_code == 0
    assert run("press", WEEK, "--edition", "fr").exit_code == 0
    r = run("send", WEEK, "--to", "press", env=env)
    assert r.exit_code == 0, r.err
    assert r.out == "14 sent, 0 already sent, 0 uncertain, 0 failed\n"  # 8 English items, 6 French
    got = [(rcpts, email.message_from_bytes(raw, policy=policy.default)) for rcpts, raw, _ in smtp["store"].messages]
    daily = [m for rcpts, m in got if rcpts == ["desk@daily.example.org"]]
    assert len(daily) == 8
    embargoed = next(m for m in daily if "Warehouse pickers" in m["Subject"])
    assert embargoed["Subject"].startswith("[embargoed until 2025-11-23T17:00:00Z] ")
    assert embargoed.get_body(("plain",)).get_content().startswith("EMBARGOED until 2025-11-23T17:00:00Z")
    (att,) = list(embargoed.iter_attachments())
    item = json.loads(att.get_content())
    assert item["embargoed"] == "2025-11-23T17:00:00Z" and item["version"] == "1"
    assert "List-Unsubscribe" in embargoed and embargoed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    french = [m for rcpts, m in got if rcpts == ["redaction@quotidien.example.net"]]
    assert len(french) == 6 and all(m["Content-Language"] == "fr" for m in french)
    # sent again: nothing new; a correction: only that item's new version goes out
    assert run("send", WEEK, "--to", "press", env=env).out == "0 sent, 14 already sent, 0 uncertain, 0 failed\n"
    hist = root / "episodes" / WEEK / "history"
    hist.mkdir(exist_ok=True)
    from radio import history
    from radio.station import Station
    history.append(Station.open(root), WEEK, "depot-drivers-refuse-overtime", "correction", note="Forty, not fifty.")
    assert run("press", WEEK, "--edition", "en", env={"SOURCE_DATE_EPOCH": "1763827200"}).exit_code == 0
    r = run("send", WEEK, "--to", "press", env=env)
    assert r.out == "1 sent, 13 already sent, 0 uncertain, 0 failed\n"
    last = email.message_from_bytes(smtp["store"].messages[-1][1], policy=policy.default)
    assert "Forty, not fifty." in last.get_body(("plain",)).get_content()
    assert not leaks([root / "feeds", root / "episodes" / WEEK / "out" / "press"], canaries)
    assert not [m for _, raw, _ in smtp["store"].messages for m in leaks_in(raw, canaries, tmp_path)]


def leaks_in(raw: bytes, canaries: list[str], tmp) -> list:
    p = tmp / "msg.eml"
    p.write_bytes(raw)
    return leaks([p], canaries)


def test_a_press_list_row_with_a_line_break_stops_before_any_send(tmp_path, smtp):  # noqa: F811
    root = mail_station(tmp_path / "st", smtp["port"])
    (root / "private" / "press.csv").write_text(PRESS_LIST + '"news@x.example.org","Paper\nInc",en,text\n')
    runner_for(root)("press", WEEK)
    smtp["store"].clear()
    r = runner_for(root)("send", WEEK, "--to", "press", env=env_for(smtp))
    assert r.exit_code == 1
    assert r.err == (f"error: {root}/private/press.csv:4: the organisation field holds a line break (keep each field "
                     "on one line (a quoted field may not span lines here))\n")
    assert smtp["store"].messages == []
