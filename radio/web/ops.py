"""What the desk's pages call in the rest of radio: the same functions the commands call, gathered in one place
so the pages never reach into a module's insides from many spots."""

from __future__ import annotations

from radio.desk.commands import _add_check as add_check_to, _set_status as set_status_of  # noqa: F401
from radio.desk.commands import correct, retract, translate  # noqa: F401
from radio.desk.views import list_rows, render_history, render_show, sender_unverified  # noqa: F401
from radio.reports.files import _yaml as round_trip_yaml, editing, find_report, load_week  # noqa: F401
from radio.reports.model import policy_counts, public  # noqa: F401
from radio.reports.translations import Translation, read_translation  # noqa: F401
from radio.rundown.edits import _index as rundown_index, digest as rundown_digest, edit as edit_rundown  # noqa: F401
from radio.rundown.model import load as load_rundown, rundown_path  # noqa: F401
