"""Opening state per archival item: the day it is due (formation + 25 years, earlier and
later by rule, the manifest's day over all), the review queue's views at their day
boundaries, two steps by two people, and opening on the day that survives kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from engine import Engine
from engine.embedded import open_embedded
from engine.model import Audience
from engine.query import MatchAll, SearchSpec
from settings import Settings
from staff import audit, opening, publish
from staff.store import Store
from tests.staff_fixtures import archive_item, build_archive, make_accounts

RULES = """
default_years = 25
deferral_review_years = 5
[[rule]]
label = "科技档案提前开放"
category = "科技"
years = 10
[[rule]]
label = "涉及个人隐私的全宗延期"
fonds = "J099"
years = 50
"""


def _settings(tmp_path, day: date | None = None) -> Settings:
    (tmp_path / "opening-rules.toml").write_text(RULES, encoding="utf-8")
    clock = tmp_path / "today.txt"
    if day:
        clock.write_text(day.isoformat(), encoding="ascii")
    return Settings(data=tmp_path, clock_file=clock, opening_interval=0)


def _item(**kw):
    base = {"formed": None, "category": None, "fonds": None, "retention": None, "manifest_due": None}
    return {**base, **kw}


def test_an_item_is_due_25_years_after_it_was_formed(tmp_path):
    rules = opening.load_rules(_settings(tmp_path))
    assert opening.due_date(_item(formed="2000-06-30"), rules)[0] == date(2025, 6, 30)
    assert opening.due_date(_item(formed="2000-12-31"), rules)[0] == date(2025, 12, 31)
    # 29 February: the 25 years are full on 1 March of a common year, not on 28 February.
    assert opening.due_date(_item(formed="2000-02-29"), rules)[0] == date(2025, 3, 1)
    assert opening.due_date(_item(formed="2000-02-29"), opening.Rules(default_years=24))[0] == date(2024, 2, 29)
    assert opening.due_date(_item(), rules)[0] is None  # no formation date: waits for review


def test_rules_open_some_categories_earlier_and_some_fonds_later(tmp_path):
    rules = opening.load_rules(_settings(tmp_path))
    assert opening.due_date(_item(formed="2010-01-01", category="科技"), rules) == (date(2020, 1, 1), "科技档案提前开放")
    assert opening.due_date(_item(formed="2010-01-01", fonds="J099 市民政局"), rules)[0] == date(2060, 1, 1)
    assert opening.due_date(_item(formed="2010-01-01", fonds="J0999"), rules)[0] == date(2035, 1, 1)  # not J099
    # The manifest's day wins over every rule.
    assert opening.due_date(_item(formed="2010-01-01", category="科技", manifest_due="2011-05-05"), rules)[0] == \
        date(2011, 5, 5)


def test_the_rules_staff_read_are_the_rules_in_force(tmp_path):
    settings = _settings(tmp_path)
    assert "科技档案提前开放" in opening.load_rules(settings).text
    assert opening.load_rules(Settings(data=tmp_path / "none")).default_years == 25


@pytest.fixture
def archive(tmp_path):
    day = date(2026, 12, 7)
    settings = _settings(tmp_path, day)
    docs = [archive_item(1, date(2001, 12, 7)),  # due today
            archive_item(2, date(2001, 12, 8)),  # due tomorrow
            archive_item(3, date(2016, 12, 7), category="科技"),  # 10 years: due today
            archive_item(4, date(1990, 1, 1), fonds="J099 市民政局"),  # 50 years
            archive_item(5, date(1995, 3, 3), classification="秘密", access="restricted"),
            archive_item(6, None)]
    build_archive(tmp_path, docs)
    accounts = make_accounts(settings, ("wang", "王审核", "reviewer"), ("li", "李审核", "reviewer"),
                             ("desk", "孙阅览", "reading_room"))
    return settings, accounts


def _ids(states) -> list[str]:
    return sorted(s.id for s in states)


def _view(settings, view, horizon=0):
    rules = opening.load_rules(settings)
    return _ids(s for s in opening.states(Store(settings.staff_path), rules)
                if opening.in_view(s, view, opening.today(settings), horizon))


def test_the_queue_shows_what_is_due_within_the_horizon_to_the_day(archive):
    settings, _ = archive
    assert _view(settings, "due", 0) == ["J012-0001", "J012-0003", "J012-0005"]
    assert _view(settings, "due", 1) == ["J012-0001", "J012-0002", "J012-0003", "J012-0005"]
    assert _view(settings, "flagged") == ["J012-0005"]
    assert _view(settings, "unreviewed") == [f"J012-{i:04d}" for i in range(1, 7)]


def test_two_steps_by_two_people_and_the_same_person_is_refused(archive):
    settings, accounts = archive
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    wang, li, desk = accounts.get("wang"), accounts.get("li"), accounts.get("desk")
    with pytest.raises(opening.ReviewError):
        opening.first_review(store, rules, settings, desk, ["J012-0001"], opening.OPEN)  # 阅览室 does not review
    with pytest.raises(opening.ReviewError, match="理由"):
        opening.first_review(store, rules, settings, wang, ["J012-0004"], opening.DEFERRED)
    batch = opening.first_review(store, rules, settings, wang, ["J012-0001", "J012-0002"], opening.OPEN)
    with pytest.raises(opening.ReviewError, match="两个不同的人"):
        opening.final_review(store, wang, batch, approve=True)
    assert _view(settings, "pending") == ["J012-0001", "J012-0002"]
    assert opening.final_review(store, li, batch, approve=True) == 2
    states = {s.id: s for s in opening.states(store, rules)}
    assert states["J012-0001"].decision["first_by"] == "王审核（wang）"
    assert states["J012-0001"].decision["final_by"] == "李审核（li）"
    assert states["J012-0002"].decision["open_on"] == "2026-12-08"  # its own due day
    actions = [e["action"] for e in audit.entries(store)]
    assert {"review.first", "review.final", "review.refused_same_person"} <= set(actions)


def test_a_deferred_item_is_reviewed_again_on_its_day(archive):
    settings, accounts = archive
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    batch = opening.first_review(store, rules, settings, accounts.get("wang"), ["J012-0004"], opening.DEFERRED,
                                 reason="涉及个人隐私")
    opening.final_review(store, accounts.get("li"), batch, approve=True)
    state = opening.states(store, rules, ["J012-0004"])[0]
    assert state.mark == opening.DEFERRED and state.decision["reason"] == "涉及个人隐私"
    assert state.decision["next_review"] == "2031-12-07"  # five years on, by the rules
    (settings.clock_file).write_text("2031-12-06", encoding="ascii")
    assert _view(settings, "review_again") == []
    (settings.clock_file).write_text("2031-12-07", encoding="ascii")
    assert _view(settings, "review_again") == ["J012-0004"]


def _public_ids(data) -> set[str]:
    engine = Engine(open_embedded(data))
    try:
        return {h.id for h in engine.search(SearchSpec(query=MatchAll(), size=100), Audience.public).hits}
    finally:
        engine.close()


def test_approved_items_open_on_their_day_and_not_before(archive):
    settings, accounts = archive
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    batch = opening.first_review(store, rules, settings, accounts.get("wang"), ["J012-0002"], opening.OPEN)
    opening.final_review(store, accounts.get("li"), batch, approve=True)
    assert publish.run_once(settings)["batch"] is None  # 7 December: due on the 8th
    assert "J012-0002" not in _public_ids(settings.data)
    settings.clock_file.write_text("2026-12-08", encoding="ascii")
    result = publish.run_once(settings)
    assert result == {"batch": 1, "written": 1, "waiting": 0}
    assert "J012-0002" in _public_ids(settings.data)
    assert publish.run_once(settings)["batch"] is None  # nothing twice


def test_a_reindex_keeps_every_decision(archive):
    """The indexer asks the store: an item decided 控制使用 stays closed though the manifest says open."""
    settings, accounts = archive
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    batch = opening.first_review(store, rules, settings, accounts.get("wang"), ["J012-0001"], opening.CONTROLLED,
                                 reason="涉及商业秘密")
    opening.final_review(store, accounts.get("li"), batch, approve=True)
    build_archive(settings.data, [archive_item(1, date(2001, 12, 7), access="open")])
    assert "J012-0001" not in _public_ids(settings.data)


KILLER = """
import sys
from settings import Settings
from staff import publish
s = Settings(data=sys.argv[1], clock_file=sys.argv[2], opening_interval=0)
print(publish.run_once(s), flush=True)
"""


def test_an_opening_survives_kill_9_at_any_point(tmp_path):
    """Many items approved for one day; the opening run is killed at random moments, then
    run to the end: one batch, every item public once, nothing left waiting, the chain intact."""
    day = date(2026, 12, 7)
    settings = _settings(tmp_path, day)
    build_archive(tmp_path, [archive_item(i, date(2001, 1, 1) + timedelta(days=i)) for i in range(1, 61)])
    accounts = make_accounts(settings, ("wang", "王审核", "reviewer"), ("li", "李审核", "reviewer"))
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    ids = [f"J012-{i:04d}" for i in range(1, 61)]
    batch = opening.first_review(store, rules, settings, accounts.get("wang"), ids, opening.OPEN, open_on="2026-12-07")
    opening.final_review(store, accounts.get("li"), batch, approve=True)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    rng = random.Random(27)
    killed = 0
    for delay in sorted(rng.uniform(0.5, 6.0) for _ in range(5)):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(tmp_path), str(settings.clock_file)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    final = publish.run_once(settings)
    assert final["waiting"] == 0
    assert _public_ids(tmp_path) == set(ids)
    assert [b["number"] for b in opening.batches(store)] == [1]
    assert opening.batch_items(store, 1) == ids
    assert audit.verify(store)[1] == []
    assert killed >= 1, "no run was killed: the delays are too long for this machine"


def test_the_indexer_registers_items_and_the_manifest_day_wins(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    for code in ("J012-2001-0001", "J012-2001-0002"):
        (files / f"{code}.txt").write_text(f"佳木斯市林业局湿地保护报告 {code}", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("档号,题名,形成日期,开放日期,开放状态,馆藏类别\n"
                        "J012-2001-0001,湿地报告一,2001-05-01,,控制,档案\n"
                        "J012-2001-0002,湿地报告二,2001-05-01,2010-01-01,控制,档案\n", encoding="utf-8")
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "indexer.cli", "index", str(files), "--manifest", str(manifest),
                    "--data", str(data), "--quiet"], check=True, timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    states = {s.id: s for s in opening.states(Store(data / "staff.sqlite"), opening.Rules())}
    assert states["J012-2001-0001"].due == "2026-05-01" and states["J012-2001-0001"].mark == opening.UNREVIEWED
    assert states["J012-2001-0002"].due == "2010-01-01"


def test_a_missed_opening_day_is_caught_up_and_a_busy_writer_only_delays_it(archive):
    """The service was down on the day: the next run opens the items; while another writer
    holds the index the changes wait in the outbox, and nothing is lost."""
    settings, accounts = archive
    store, rules = Store(settings.staff_path), opening.load_rules(settings)
    batch = opening.first_review(store, rules, settings, accounts.get("wang"), ["J012-0002"], opening.OPEN)
    opening.final_review(store, accounts.get("li"), batch, approve=True)
    settings.clock_file.write_text("2027-01-15", encoding="ascii")
    holder = Engine(open_embedded(settings.data, writable=True))
    holder.upsert([archive_item(99, date(2000, 1, 1))])  # takes the writer lock, as `chayue index` would
    try:
        result = publish.run_once(settings)
        assert result["batch"] == 1 and result["written"] == 0 and result["waiting"] == 1
        assert "J012-0002" not in _public_ids(settings.data)
    finally:
        holder.commit()
        holder.close()
    assert publish.run_once(settings) == {"batch": None, "written": 1, "waiting": 0}
    assert "J012-0002" in _public_ids(settings.data)
    assert opening.batches(store)[0]["day"] == "2027-01-15"
