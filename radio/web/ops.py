"""What the desk's pages call in the rest of radio: the same functions the commands call, gathered in one place
so the pages never reach into a module's insides from many spots."""

from __future__ import annotations

from radio.desk import list_rows, render_show  # noqa: F401
from radio.history import correct, render as render_history, retract  # noqa: F401
from radio.reports import (Translation, _add_check as add_check_to, _set_status as set_status_of,  # noqa: F401
                           _yaml as round_trip_yaml, editing, find_report, load_week, policy_counts, public,
                           read_translation, translate)
from radio.rundown import (_index as rundown_index, digest as rundown_digest, edit as edit_rundown,  # noqa: F401
                           load as load_rundown, rundown_path)
