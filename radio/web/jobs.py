"""The producer's build and publish from the desk: one job at a time, in a thread, with the stages and the
segment being mixed kept for the page to show (the same stages and gates as `radio build` and `radio publish`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from radio.errors import RadioError
from radio.station import Station


@dataclass
class Job:
    what: str = ""
    week: str = ""
    running: bool = False
    stages: list[list[str]] = field(default_factory=list)  # [edition, stage, state]
    item: str = ""
    summary: list[str] = field(default_factory=list)
    error: str = ""


class Jobs:
    def __init__(self, station: Station, plain):
        self.station, self.plain = station, plain
        self.job = Job()
        self._lock = threading.Lock()

    def state(self) -> dict:
        with self._lock:
            j = self.job
            return {"what": j.what, "week": j.week, "running": j.running, "stages": [list(s) for s in j.stages],
                    "item": j.item, "summary": list(j.summary), "error": j.error}

    def start(self, what: str, week: str, draft: bool) -> None:
        with self._lock:
            if self.job.running:
                raise RadioError(f"a {self.job.what} of {self.job.week} is still running", fix="wait for it to end")
            self.job = Job(what, week, True)
        threading.Thread(target=self._run, args=(what, week, draft), daemon=True).start()

    def _send(self, j: Job, week: str, dry_run: bool) -> None:
        """The bulletin to every subscriber, once each: `radio send` (a rerun resumes; uncertain ones are named)."""
        from radio.mail.send import send

        def progress(i: int, n: int) -> None:
            with self._lock:
                j.item = f"sent {i}/{n}"

        with self._lock:
            j.stages.append([self.station.edition_id, "send", "running"])
        result = send(self.station, week, dry_run=dry_run, progress=progress)
        with self._lock:
            j.stages.append([self.station.edition_id, "send", "done"])
            j.summary += result.lines()
            if result.uncertain:
                j.error = (f"{len(result.uncertain)} message(s) may or may not have arrived: check the server's log, "
                           f"then `radio send {week} --uncertain resend` or `--uncertain sent`")
            elif result.failed:
                j.error = f"{len(result.failed)} message(s) were refused"

    def _run(self, what: str, week: str, draft: bool) -> None:
        from radio.build import Options, build, run_stage
        j = self.job
        try:
            if what == "send":
                return self._send(j, week, draft)
            for s in self.station.editions():
                ed = s.edition_id

                def stage(name: str, state: str, ed=ed) -> None:
                    with self._lock:
                        j.stages.append([ed, name, state])

                def item(stage_name: str, i: int, n: int, label: str) -> None:
                    with self._lock:
                        j.item = f"{stage_name} {i}/{n} {label}"

                if what == "build":
                    result = build(s, week, Options(draft=draft, progress=item), stage)
                    with self._lock:
                        j.summary += [f"{ed}: {line}" for line in result.summary]
                elif what == "bulletin":
                    from radio.mail.bulletin import make
                    stage("bulletin", "running")
                    b = make(s, week, required=not s.edition)
                    stage("bulletin", "done")
                    with self._lock:
                        j.summary.append(f"{ed}: {b.count} reports in the {b.language} bulletin" if b else
                                         f"{ed}: no verified report in {s.language} yet: no bulletin")
                else:
                    stage("publish", "running")
                    result = run_stage(s, week, "publish", Options(draft=draft))
                    stage("publish", "done")
                    with self._lock:
                        j.summary.append(f"{ed}: published {result.page.relative_to(s.root)}")
        except RadioError as e:
            with self._lock:
                j.error = self.plain(e)
        except Exception as e:  # noqa: BLE001 (a bug: said in one line, the job ends)
            with self._lock:
                j.error = f"internal error: {type(e).__name__}"
        finally:
            with self._lock:
                j.running = False
                j.item = ""
