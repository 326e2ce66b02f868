"""The 赛马 race of a challenge: stages, entries, submissions, limits, cuts and winners.

Rules (also in the README):

* A stage is open from ``opens_at`` to ``closes_at`` (stored in UTC, shown in
  Asia/Shanghai). Submissions are taken only while the stage is open and the challenge is
  racing, from active entries.
* Limits are per entry (the team, not the user): ``daily_limit`` per Asia/Shanghai day and
  ``total_limit`` per stage. Failed and cancelled submissions do not count against them, but
  failed ones count against the stage's failure budget (``MOSU_SUBMISSION_FAILURE_LIMIT``):
  once it is spent the team's submissions are refused, so a failing endpoint cannot be
  submitted without end.
* The public leaderboard ranks each entry's best public submission. The final ranking of a
  stage uses the private part: each entry's selected submissions (at most
  ``max_selected``) or, if it selected none, its best public one; the best private score of
  those counts. Ties go to the earlier submission.
* Closing a stage applies its published cut rule to the final ranking; entries cut see why.

The package's public API is re-exported here (``from mosu import race``); scoring, job
handlers, the report, schemas, routes and views are imported from their own modules.
"""

from mosu.race.baselines import BASELINE_JOB, add_house_entry, submit_baselines
from mosu.race.board import (
    BoardView,
    ShownRow,
    compute_board,
    counted,
    refresh_public_board,
    stage_board,
    view_board,
)
from mosu.race.closing import close_stage, decide, pending, start_race
from mosu.race.entries import (
    entries_of,
    entry_organisations,
    entry_teams,
    my_entries,
)
from mosu.race.predictions import PredictionProblem, check_predictions
from mosu.race.stages import (
    BASELINES,
    CLOSE_JOB,
    SUBMISSION_JOB,
    SYSTEM,
    StageSpec,
    StageStatus,
    add_stage,
    cut_rule_text,
    get_challenge,
    get_stage,
    scoring_rule_text,
    stage_status,
)
from mosu.race.submissions import (
    LiveState,
    Quota,
    cancel_submission,
    get_submission,
    live_state,
    predictions_store,
    quota,
    rerun_submission,
    select_submissions,
    submissions_of,
    submit,
)

__all__ = [
    "BASELINES",
    "BASELINE_JOB",
    "CLOSE_JOB",
    "SUBMISSION_JOB",
    "SYSTEM",
    "BoardView",
    "LiveState",
    "PredictionProblem",
    "Quota",
    "ShownRow",
    "StageSpec",
    "StageStatus",
    "add_house_entry",
    "add_stage",
    "cancel_submission",
    "check_predictions",
    "close_stage",
    "compute_board",
    "counted",
    "cut_rule_text",
    "decide",
    "entries_of",
    "entry_organisations",
    "entry_teams",
    "get_challenge",
    "get_stage",
    "get_submission",
    "live_state",
    "my_entries",
    "pending",
    "predictions_store",
    "quota",
    "refresh_public_board",
    "rerun_submission",
    "scoring_rule_text",
    "select_submissions",
    "stage_board",
    "stage_status",
    "start_race",
    "submissions_of",
    "submit",
    "submit_baselines",
    "view_board",
]
