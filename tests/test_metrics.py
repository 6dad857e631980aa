"""Metrics on a recorded history (tests/data/metrics), every value worked out by hand below.

The story, 1–3 May 2024 (UTC):
  T-1 CodeAgency "Login API": assigned 09:00, STATUS 09:05, COMPLETE 10:00, deploy 10:10 (#1 rev 1:
      10 passed, 80% coverage), rejected 10:50, COMPLETE 11:30, deploy 11:40 (#1 rev 2: 12 passed,
      90%), approved 12:00. Working 09:05–10:00 and 10:50–11:30: 55 + 40 = 95 min.
  T-2 QAAgency "Test login" (after T-1): assigned 12:00, STATUS 12:10, COMPLETE 12:40 → completed.
      Working 30 min.
  T-3 CodeAgency "Profile page": assigned 2 May 09:00, STATUS 09:20, failed 15:00. Working 340 min.
  T-4 CodeAgency "Logout": assigned 3 May 08:00, STATUS 08:30, handoff 09:00, deploy 09:05 (#2:
      5 passed, no coverage), approved 09:30. Working 30 min.
  T-5 DocsAgency "User docs": submitted.
  #3 QAAgency qa/e2e: deploy 2 May 10:00 (20 passed, 70%), approved 10:30.
  Messages: 12 (7 on 1 May, 3 on 2 May, 2 on 3 May); handoffs Code→QA 1 May 12:05 (QA answers
  12:10: 5 min), Code→QA 2 May 10:00 (QA answers 11:00: 60 min), Code→Docs 3 May 09:00 (never
  answered); QA results with 2 bugs (1 May) and with none (2 May); review scores 88 and 92
  from CodeAgency.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.schema import ApprovalItem, SuiteCounts
from tmux_agency.services.metrics import report as metrics
from tmux_agency.services.metrics.compute import parse_since
from tmux_agency.services.metrics.render import render
from tmux_agency.services.metrics.scan import MessageScan
from tmux_agency.services.tasks import lifecycle

from .helpers import Cli, registry_bytes

DATA = Path(__file__).parent / "data" / "metrics"
NOW = datetime(2024, 5, 3, 18, 0, tzinfo=timezone.utc)
MIN = 60.0


@pytest.fixture
def recorded(workspace: Workspace) -> Workspace:
    workspace.registry_dir.mkdir(exist_ok=True)
    for name in ("messages.jsonl", "task_graph.json", "reviews.jsonl"):
        shutil.copy(DATA / name, workspace.registry_dir / name)
    shutil.copy(DATA / "CodeAgency-lessons.md", workspace.agencies_dir / "CodeAgency" / "lessons.md")
    return workspace


def test_every_metric_matches_the_hand_count(recorded: Workspace) -> None:
    report = metrics.build(recorded, now=NOW, days=3)
    t = report["totals"]
    # Completion: finished T-1 (rejected once), T-2, T-3 (failed), T-4 → 2 of 4 without a rejection.
    assert t["tasks"] == {"finished": 4, "completed": 3, "completed_first_time": 2, "failed": 1, "completion_rate": 0.5}
    # First review: #1 rejected, #2 and #3 approved.
    assert t["reviews"] == {"reviewed": 3, "approved_first": 2, "first_review_approval_rate": pytest.approx(2 / 3)}
    # Response: T-1 60 min, T-2 40 min, T-4 60 min (its handoff is its report).
    assert t["response_time_s"] == {"count": 3, "median": 60 * MIN, "mean": pytest.approx((60 + 40 + 60) / 3 * MIN)}
    # Handoffs: 5 and 60 min answered, one never.
    assert t["handoff_time_s"] == {"count": 3, "answered": 2, "median": 32.5 * MIN, "mean": 32.5 * MIN}
    assert t["quality"] == {
        "deploys": 4,
        "coverage_mean": 80.0,  # (80 + 90 + 70) / 3; #2 measured none
        "tests_passed": 10 + 12 + 20 + 5,
        "tests_failed": 0,
        "bugs_reported": 2,
        "bug_reports": 1,
        "review_score_mean": 90.0,  # (88 + 92) / 2
        "review_scores": 2,
    }
    # Human review: 40 + 20 (#1) + 30 (#3) + 25 (#2) = 115 min; agency work 95 + 30 + 340 + 30 = 495 min.
    assert t["time"] == {
        "human_review_s": 115 * MIN,
        "agency_working_s": 495 * MIN,
        "review_per_working": pytest.approx(115 / 495),
    }
    assert report["trends"] == {
        "days": ["2024-05-01", "2024-05-02", "2024-05-03"],
        "tasks_completed": [2, 0, 1],
        "messages": [7, 3, 2],
        "first_review_approval_rate": [0.0, 1.0, 1.0],
        "coverage": [85.0, 70.0, None],
    }
    assert report["flags"] == []


def test_per_agency_and_since(recorded: Workspace) -> None:
    rows = {row["name"]: row for row in metrics.build(recorded, now=NOW)["agencies"]}
    code, qa = rows["CodeAgency"], rows["QAAgency"]
    assert (code["tasks"]["finished"], code["tasks"]["completed_first_time"]) == (3, 1)  # T-1, T-3, T-4
    assert (code["reviews"]["reviewed"], code["reviews"]["approved_first"]) == (2, 1)
    assert code["quality"]["bugs_reported"] == 2, "QA's results sent to CodeAgency count against its work"
    assert code["quality"]["review_score_mean"] == 90.0
    assert code["handoff_time_s"]["count"] == 0, "handoff time belongs to the agency that answers"
    assert (qa["handoff_time_s"]["answered"], qa["handoff_time_s"]["median"]) == (2, 32.5 * MIN)
    assert qa["tasks"]["completion_rate"] == 1.0 and qa["response_time_s"]["median"] == 40 * MIN
    assert rows["DocsAgency"]["handoff_time_s"] == {"count": 1, "answered": 0, "median": None, "mean": None}

    one = metrics.build(recorded, agency="QAAgency", now=NOW)
    assert [row["name"] for row in one["agencies"]] == ["QAAgency"] and one["totals"] == {
        k: v for k, v in qa.items() if k in one["totals"]
    }

    since = metrics.build(recorded, since=datetime(2024, 5, 2, tzinfo=timezone.utc), now=NOW, days=3)
    # From 2 May: T-3 failed, T-4 completed; #3 and #2 approved first time; T-3 and T-4 worked.
    assert since["totals"]["tasks"]["completion_rate"] == 0.5
    assert since["totals"]["reviews"]["first_review_approval_rate"] == 1.0
    assert since["totals"]["time"]["agency_working_s"] == (340 + 30) * MIN
    assert since["trends"]["days"] == ["2024-05-02", "2024-05-03"] and since["trends"]["messages"] == [3, 2]


def test_lessons_are_summarised_and_the_report_reads_well(recorded: Workspace) -> None:
    lessons = metrics.lessons(recorded, "CodeAgency")
    assert lessons["count"] == 2
    assert [lesson["branch"] for lesson in lessons["recent"]] == ["feature/profile", "feature/T-1-login"]
    assert lessons["themes"] == [{"word": "tests", "lessons": 2}]
    text = render(metrics.build(recorded, now=NOW, days=3))
    assert "task completion rate      50%  ██████████░░░░░░░░░░  2 of 4 finished tasks" in text
    assert "first-review approval     67%" in text
    assert "response time            median 1h 00m · mean 53m 20s (3 tasks" in text
    assert "handoff time             median 32m 30s · mean 32m 30s (2 answered handoffs, 1 unanswered)" in text
    assert "human review             1h 55m reviewing vs 8h 15m of agency work (23.2%)" in text
    assert "  tasks completed          █▁▅  3" in text
    assert "  messages                 █▂▁  12" in text
    assert "CodeAgency: 2 lessons; recurring: tests ×2" in text


def test_a_falling_first_review_rate_is_flagged(workspace: Workspace) -> None:
    def decide(item_id: int, status: str) -> None:
        item = ApprovalItem(
            id=item_id,
            agency="CodeAgency",
            branch=f"b{item_id}",
            base="main",
            title="t",
            commit="0" * 40,
            tests=SuiteCounts(passed=1),
            status=status,
        )
        lifecycle.on_approval(workspace, None, item)

    for n, status in enumerate(["approved"] * 4 + ["rejected"] * 3, start=1):
        decide(n, status)
    report = metrics.build(workspace)
    # 7 reviews: the last 3 (half, rounded down) 0% against the 4 before at 100%.
    assert report["flags"] == [
        "CodeAgency: first-review approval fell from 100% (4 of 4) to 0% (0 of 3) in its last 3 reviews"
    ]
    assert report["agencies"][0]["flag"] == report["flags"][0]
    decide(8, "approved")
    decide(9, "approved")
    # Now the last 4 are 2 of 4 (50%) against 4 of 5 (80%): a 30-point fall, still flagged.
    assert "from 80% (4 of 5) to 50% (2 of 4)" in metrics.build(workspace)["flags"][0]
    decide(10, "approved")
    # Last 5: 3 of 5 (60%) against 4 of 5 (80%): 20 points, the threshold.
    assert metrics.build(workspace)["flags"]
    decide(11, "approved")
    assert metrics.build(workspace)["flags"] == [], "4 of 5 against 4 of 6: rising"


def test_odd_lines_and_older_approvals_still_count(recorded: Workspace) -> None:
    log = recorded.registry_dir / "messages.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    # A line in another key order (as an older writer might leave) is parsed as JSON instead;
    # a fragment from a killed writer is skipped.
    event = json.loads(lines[0])
    event["message"] = dict(sorted(event["message"].items()))
    lines[0] = json.dumps(event) + "\n"
    lines.insert(1, '{"seq":99,"event":"mess\n')
    log.write_text("".join(lines))
    # An approval decided before reviews.jsonl existed: read from approval_queue.json.
    old = ApprovalItem(
        id=9,
        agency="QAAgency",
        branch="qa/old",
        base="main",
        title="old",
        commit="0" * 40,
        tests=SuiteCounts(passed=4),
        coverage=60.0,
        status="rejected",
        feedback="flaky",
        created_at=datetime(2024, 5, 2, 8, tzinfo=timezone.utc),
        decided_at=datetime(2024, 5, 2, 9, tzinfo=timezone.utc),
    )
    (recorded.registry_dir / "approval_queue.json").write_text(
        json.dumps({"_default": {"1": old.model_dump(mode="json")}})
    )
    report = metrics.build(recorded, now=NOW, days=3)
    assert report["trends"]["messages"] == [7, 3, 2]
    assert report["totals"]["reviews"] == {"reviewed": 4, "approved_first": 2, "first_review_approval_rate": 0.5}
    assert report["totals"]["time"]["human_review_s"] == (115 + 60) * MIN


def test_since_parses_dates_times_and_ages() -> None:
    assert parse_since("2024-05-02", NOW) == datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert parse_since("2024-05-02T09:30", NOW) == datetime(2024, 5, 2, 9, 30, tzinfo=timezone.utc)
    assert parse_since("2024-05-02T09:30+02:00", NOW).hour == 9
    assert parse_since("36h", NOW) == datetime(2024, 5, 2, 6, 0, tzinfo=timezone.utc)
    assert parse_since("1w", NOW) == datetime(2024, 4, 26, 18, 0, tzinfo=timezone.utc)


def test_the_command_prints_json_or_text_and_changes_nothing(recorded: Workspace) -> None:
    cli = Cli(recorded, None, {})
    before = registry_bytes(recorded)
    out = cli("metrics", "--json", "--since", "2024-05-01")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["totals"]["tasks"]["completion_rate"] == 0.5 and report["since"].startswith("2024-05-01")
    assert json.loads(cli("metrics", "--agency", "QAAgency", "--json").stdout)["agency"] == "QAAgency"
    text = cli("metrics", "--since", "2024-05-01").stdout
    assert text.startswith("Metrics · all agencies · since 2024-05-01 00:00")
    assert registry_bytes(recorded) == before


def test_a_kept_scan_reads_only_what_the_log_gained(recorded: Workspace) -> None:
    log = recorded.registry_dir / "messages.jsonl"
    whole = log.read_bytes()
    lines = whole.splitlines(keepends=True)
    full = metrics.build(recorded, now=NOW, days=3)
    # The log as it was after the first handoff, with the next line half written.
    log.write_bytes(b"".join(lines[:9]) + lines[9][:40])
    scan = MessageScan()
    early = metrics.build(recorded, now=NOW, days=3, scan=scan)
    assert early["totals"]["handoff_time_s"] == {"count": 1, "answered": 0, "median": None, "mean": None}
    offset = scan.offset
    assert offset == len(b"".join(lines[:9])), "the partial line waits for the next read"
    log.write_bytes(whole)
    later = metrics.build(recorded, now=NOW, days=3, scan=scan)
    assert scan.offset == len(whole)
    assert (later["totals"], later["trends"]) == (full["totals"], full["trends"])
