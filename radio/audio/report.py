"""The audio report: one page for the producer beside the masters (out/audio-report.html, never published).

For each master, the waveform and the short-term loudness over the whole show with every item's start and name
from the as-run, drawn from what assembly measured on the final samples (the on-air WAV as written, the podcast
MP3 decoded as it was encoded): nothing is decoded again. Then integrated loudness, loudness range and true peak
against their targets, and a table of the items: loudness and true peak in each master, the gain each take was
given, what the limiters took from it, how far it strays from the speech target, and what cleaning it had
(clicks softened, clipping, silence cut). Drawn with matplotlib (Agg); the images carry no date or version, so
the same show gives the same bytes.
"""

from __future__ import annotations

import atexit
import html
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

import numpy as np

from radio import fsutil
from radio.config import format_ms
from radio.errors import AudioError
from radio.station import Station

COLUMNS = 2400  # at most this many points across a plot: an hour is 36,000 values of 100 ms


def _short_term(energy: np.ndarray, offset: float) -> np.ndarray:
    """Short-term loudness (3 s) at every 100 ms, LUFS; NaN where silent."""
    if len(energy) < 30:
        return np.full(len(energy), np.nan)
    e = np.convolve(energy, np.ones(30) / 30, "valid")
    with np.errstate(divide="ignore"):
        v = -0.691 + 10 * np.log10(e) + offset
    v[v < -70] = np.nan
    return np.concatenate([np.full(29, np.nan), v])


def _bins(n: int) -> int:
    return max(1, -(-n // COLUMNS))


def _figure(title: str, trace: dict, items: list[dict], target: float, tolerance: float, offset: float):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    step = trace["step"]
    lo, hi = np.asarray(trace["lo"], np.float32), np.asarray(trace["hi"], np.float32)
    k = _bins(len(lo))
    m = len(lo) // k * k
    if m:
        lo_b, hi_b = lo[:m].reshape(-1, k).min(axis=1), hi[:m].reshape(-1, k).max(axis=1)
    else:
        lo_b, hi_b = lo, hi
    t = np.arange(len(lo_b)) * k * step / 60
    st = _short_term(np.asarray(trace["energy"], np.float64), offset)
    ks = _bins(len(st))
    ts = np.arange(0, len(st), ks) * step / 60
    fig = Figure(figsize=(14, 5.2), dpi=100)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    ax1.fill_between(t, lo_b, hi_b, color="#3b6ea5", linewidth=0)
    ax1.set_ylim(-1, 1)
    ax1.set_ylabel("waveform")
    fig.suptitle(title, x=0.06, y=0.985, ha="left", fontsize=11)
    ax2.axhspan(target - tolerance, target + tolerance, color="#cfe8cf")
    ax2.axhline(target, color="#2e7d32", linewidth=0.8)
    ax2.plot(ts, st[::ks], color="#b23a48", linewidth=0.8)
    ax2.set_ylim(target - 24, target + 9)
    ax2.set_ylabel("short-term LUFS")
    ax2.set_xlabel("minutes")
    end = max(len(lo) * step / 60, 1e-3)
    ax2.set_xlim(0, end)
    for it in items:
        x = it["start_s"] / 60
        for ax in (ax1, ax2):
            ax.axvline(x, color="#888888", linewidth=0.5)
        ax1.text(x, 1.02, it["id"], rotation=60, fontsize=6, ha="left", va="bottom", transform=ax1.get_xaxis_transform())
    fig.subplots_adjust(left=0.06, right=0.99, top=0.78, bottom=0.1, hspace=0.08)
    return fig


def _save(fig, path: Path, fmt: str) -> None:
    import matplotlib
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "radio", "svg.fonttype": "path"}):
        fig.savefig(buf, format=fmt, metadata={"Software": None} if fmt == "png" else
                    {"Date": None, "Creator": None})
    fsutil.write_bytes(path, buf.getvalue())


def _num(v) -> str:
    return "–" if v is None else str(v)


def _cells(values: list) -> str:
    return "".join(f"<td>{html.escape(_num(v))}</td>" for v in values)


def _masters(station: Station) -> list[tuple[str, str, float, float, float, float]]:
    """Each master's key, label, target, tolerance, true-peak limit and how much louder it measures than its mono
    mix (a stereo podcast's two identical channels)."""
    from radio.audio.encode import STEREO_DB
    cfg = station.config
    L = cfg.loudness
    stereo = cfg.podcast.channels == "stereo"
    return [("onair", "On air", L.onair_lufs, L.onair_tolerance, L.onair_true_peak, 0.0),
            ("podcast", f"Podcast ({cfg.podcast.channels})", L.podcast_lufs, L.podcast_tolerance,
             L.podcast_true_peak, STEREO_DB if stereo else 0.0)]


def _job(station: Station, as_run: dict, traces: dict) -> list[dict]:
    """What drawing the images needs, and nothing of the station: each figure's title, items, target, trace and
    files."""
    return [{"title": f"{label}: {as_run[key]['file']}", "trace": traces[key], "items": as_run[key]["items"],
             "target": target, "tolerance": tol, "offset": offset,
             "files": {fmt: str(station.audio_report(as_run["week"], f"-{key}.{fmt}")) for fmt in ("png", "svg")}}
            for key, label, target, tol, _, offset in _masters(station)]


def _draw(job: list[dict]) -> None:
    """Each master's waveform and short-term loudness, as PNG and SVG."""
    for f in job:
        fig = _figure(f["title"], f["trace"], f["items"], f["target"], f["tolerance"], f["offset"])
        for fmt, path in f["files"].items():
            _save(fig, Path(path), fmt)


def page(station: Station, as_run: dict, loud: dict) -> Path:
    """The page, naming the images the `Painter` draws; returns its path."""
    cfg = station.config
    L = cfg.loudness
    sections = []
    for key, label, target, tol, tp_max, _ in _masters(station):
        m = loud[key]
        ok = "ok" if m.get("ok") else "OUT OF TARGET"
        sp = m.get("speech") or {}
        lim = m.get("limiter") or {}
        sections.append(
            f'<section id="{key}"><h2>{html.escape(label)}</h2>'
            f'<table class="summary" data-master="{key}"><tr><th>integrated</th><th>target</th><th>LRA</th>'
            f'<th>true peak</th><th>limit</th><th>speech spread</th><th>limiter over speech (median / p95)</th>'
            f'<th></th></tr><tr>'
            f'<td data-key="integrated">{_num(m.get("integrated"))}</td><td>{target:g} ±{tol:g} LUFS</td>'
            f'<td data-key="lra">{_num(m.get("lra"))}</td><td data-key="true_peak">{_num(m.get("true_peak"))}</td>'
            f'<td>≤ {tp_max:g} dBTP</td><td data-key="spread">{_num(sp.get("spread"))}</td>'
            f'<td>{_num(lim.get("median_db"))} / {_num(lim.get("p95_db"))} dB</td><td class="verdict">{ok}</td>'
            f'</tr></table>'
            f'<a href="audio-report-{key}.svg"><img src="audio-report-{key}.png" width="1400" height="520" '
            f'alt="{html.escape(label)}: waveform and short-term loudness with every item"></a></section>')
    titles = {i["id"]: i["title"] for i in as_run["onair"]["items"]}
    starts = {i["id"]: i["start_s"] for i in as_run["onair"]["items"]}
    rows = []
    for iid, it in loud["items"].items():
        on, pod = it.get("onair") or {}, it.get("podcast") or {}
        take, lim = it.get("take") or {}, it.get("limiter") or {}
        speech = "take" in it
        off = on.get("integrated") is not None and speech and abs(on["integrated"] - L.onair_lufs) > L.speech_tolerance
        stray = round(on["integrated"] - L.onair_lufs, 2) if speech and on.get("integrated") is not None else None
        rows.append(
            f'<tr data-item="{html.escape(iid)}"{" class=off" if off else ""}><td>{format_ms(round(starts.get(iid, 0) * 1000))}</td>'
            f'<td class="name">{html.escape(titles.get(iid, iid))}<br><small>{html.escape(iid)} · {html.escape(it["type"])}</small></td>'
            + _cells([on.get("integrated"), on.get("true_peak"), pod.get("integrated"), pod.get("true_peak"),
                      take.get("gain_db"), (lim.get("onair") or {}).get("max_db"),
                      (lim.get("podcast") or {}).get("mean_db"), (lim.get("podcast") or {}).get("max_db"), stray,
                      take.get("clicks"), take.get("clipped"), take.get("cut_s")]) + "</tr>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audio report: {html.escape(as_run["title"])} {html.escape(as_run["week"])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .2em .5em; text-align: right; vertical-align: top; }}
td.name, th.name {{ text-align: left; }}
tr.off td {{ background: #fde2e1; }}
td.verdict {{ font-weight: bold; }}
img {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Audio report: {html.escape(as_run["title"])}, {html.escape(as_run["week"])}{" (draft)" if as_run.get("draft") else ""}</h1>
<p>What the listener gets, measured on the files themselves. Not published: for the producers.
A row in red is a speech item more than {L.speech_tolerance:g} LU from the {L.onair_lufs:g} LUFS target.</p>
{"".join(sections)}
<section id="items"><h2>Items</h2>
<table class="items"><tr><th>start</th><th class="name">item</th><th>on air LUFS</th><th>on air dBTP</th>
<th>podcast LUFS</th><th>podcast dBTP</th><th>gain dB</th><th>on-air limiter max dB</th>
<th>podcast limiter mean dB</th><th>podcast limiter max dB</th><th>off target LU</th><th>clicks softened</th>
<th>clipped runs</th><th>silence cut s</th></tr>
{"".join(rows)}
</table></section>
</body></html>
"""
    path = station.audio_report(as_run["week"])
    fsutil.write_text(path, page)
    return path


class Painter:
    """Draws the report's images in a process of its own, started before the mix: it readies itself (imports
    matplotlib) at the lowest priority while the mix runs, then draws what it is handed while the stages after
    assembly run. A process, not a thread (drawing holds the interpreter) nor a fork (the mix would pay to copy
    every page of its own it then writes). Once it has drawn, it waits for the next assembly of this command (the
    next edition's), ready: one drawer readies itself once however many editions are built. It leaves when its
    input closes: at the end of this process, or when this process dies."""

    def __init__(self, station: Station):
        self.station = station
        self.handed = False
        self.proc, self.err = _idle()

    def draw(self, as_run: dict, traces: dict) -> None:
        """Hand over what to draw."""
        data = pickle.dumps(_job(self.station, as_run, traces), protocol=pickle.HIGHEST_PROTOCOL)
        assert self.proc.stdin is not None
        self.handed = True
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:  # it is gone already: `wait` says why
            pass

    def wait(self) -> None:
        """Until the images are drawn; raises what failed. With nothing handed over (assembly failed), the
        drawer waits for the next assembly."""
        assert self.proc.stdout is not None
        if not self.handed or self.proc.stdout.readline() == DRAWN:
            _IDLE.append((self.proc, self.err))
            return
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait()
        self.err.seek(0)
        why = self.err.read().decode("utf-8", "replace").strip()
        self.err.close()
        raise AudioError(f"the audio report could not be drawn: {why.splitlines()[-1] if why else 'it stopped'}",
                         fix="run the build again with -v, and report it")


DRAWN = b"drawn\n"  # what the drawer says after each job
_IDLE: list[tuple[subprocess.Popen, IO[bytes]]] = []  # drawers between two assemblies of this process


def _idle() -> tuple[subprocess.Popen, IO[bytes]]:
    """A drawer waiting for a job, and where it says what went wrong: one that has drawn before, or a new one."""
    while _IDLE:
        proc, err = _IDLE.pop()
        if proc.poll() is None:
            return proc, err
        err.close()
    err = tempfile.TemporaryFile()  # a file, not a pipe: nothing it says can ever hold it up
    return subprocess.Popen([sys.executable, "-m", "radio.audio.report"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=err), err


@atexit.register
def _dismiss() -> None:
    for proc, _ in _IDLE:
        try:
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass


def _warm() -> None:
    """Import what drawing needs (a third of a second)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.backends.backend_agg  # noqa: F401 - what savefig loads
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def _main() -> None:
    """The drawer `Painter` starts: ready itself, then draw each job read from standard input, saying when."""
    try:
        os.nice(19)  # readied in the time the mix leaves over, never in the encoder's
    except (AttributeError, OSError):
        pass
    _warm()
    while len(head := sys.stdin.buffer.read(8)) == 8:  # until the process that started this one closes it
        _draw(pickle.loads(sys.stdin.buffer.read(struct.unpack("<Q", head)[0])))  # from it, over its own pipe
        sys.stdout.buffer.write(DRAWN)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    try:
        _main()
    except Exception as e:  # noqa: BLE001 - one line for the parent to say
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
