"""Measuring what listeners get, and ffmpeg's MP3 encoder fed from a thread, its MP3 followed into a decoder
and metered while it is written."""

from __future__ import annotations

import math
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from radio import media
from radio.audio import dsp
from radio.errors import AudioError

CHUNK = 240_000  # samples per step (5 s at 48 kHz)


class Spans:
    """Per-item loudness and peaks inside a master, from the master's own meter and its samples: loudness from
    the meter's 100 ms energies over each item's span, sample and true peak from the item's own samples. Spans
    are added as the mix places its items, before any of their samples is fed (the feeding thread may be
    another: the list is only appended to)."""

    def __init__(self, window_db: float):
        self.spans: list[tuple[str, int, int]] = []
        self.window = dsp.undb(-window_db)
        self.sample: dict[str, float] = {}
        self.true: dict[str, float] = {}
        self.pos = 0

    def add(self, sid: str, a: int, b: int) -> None:
        self.sample.setdefault(sid, 0.0)
        self.true.setdefault(sid, 0.0)
        self.spans.append((sid, a, b))

    def feed(self, x: np.ndarray) -> None:
        peaks = None  # block peaks of x, found when first needed
        a, b = self.pos, self.pos + len(x)
        self.pos = b
        if not self.spans or len(x) == 0:
            return
        n = len(x) // dsp.BLOCK
        padded = None
        for sid, s0, s1 in list(self.spans):
            if s1 <= a or s0 >= b:
                continue
            i0, i1 = max(s0, a) - a, min(s1, b) - a
            part = x[i0:i1]
            sp = max(float(part.max()), -float(part.min())) if len(part) else 0.0
            self.sample[sid] = max(self.sample[sid], sp)
            # oversample only this item's blocks within the window of its loudest so far, as the meter does
            floor = max(self.true[sid], self.sample[sid]) * self.window
            if sp < floor:
                continue  # nothing here comes near it
            if peaks is None:
                peaks = dsp.abs_block_max(x[: n * dsp.BLOCK]) if n else np.zeros(0, np.float32)
            b0, b1 = i0 // dsp.BLOCK, min(n, -(-i1 // dsp.BLOCK))
            cand = b0 + np.nonzero(peaks[b0:b1] >= floor)[0]
            if len(cand):
                if padded is None:
                    padded = np.concatenate([np.zeros(dsp.TAPS, np.float32), x.astype(np.float32, copy=False),
                                             np.zeros(dsp.TAPS + dsp.BLOCK, np.float32)])
                self.true[sid] = max(self.true[sid], float(dsp.interpolated_peaks(padded, cand).max()))
            self.true[sid] = max(self.true[sid], self.sample[sid])

    def result(self, meter: dsp.Meter, rate: int) -> dict[str, dict]:
        e = np.concatenate(meter.energies) if meter.energies else np.zeros(0)
        sub = rate // 10
        out = {}
        for sid, s0, s1 in sorted(self.spans, key=lambda s: s[1]):
            seg = e[-(-s0 // sub): s1 // sub]
            out[sid] = {"integrated": dsp._round(dsp.integrated(seg)), "true_peak": dsp._round(dsp.db(self.true[sid])),
                        "sample_peak": dsp._round(dsp.db(self.sample[sid]))}
        return out


class Trace:
    """The sample range of every 100 ms (for a waveform), kept beside the meter's energies of the same 100 ms."""

    def __init__(self, rate: int):
        self.sub = rate // 10
        self.rest = np.zeros(0, np.float32)
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        if len(self.rest):  # the 100 ms begun in the last step, completed (not the whole step joined to it)
            need = self.sub - len(self.rest)
            if len(x) < need:
                self.rest = np.concatenate([self.rest, x])
                return
            head = np.concatenate([self.rest, x[:need]])
            self.lo.append(head.min(keepdims=True))
            self.hi.append(head.max(keepdims=True))
            x = x[need:]
        k = len(x) // self.sub
        if k:
            r = x[: k * self.sub].reshape(k, self.sub)
            self.lo.append(r.min(axis=1))
            self.hi.append(r.max(axis=1))
        self.rest = x[k * self.sub:].copy()

    def result(self, meter: dsp.Meter) -> dict:
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.float32)  # noqa: E731
        e = np.concatenate(meter.energies) if meter.energies else np.zeros(0)
        return {"step": 0.1, "lo": cat(self.lo), "hi": cat(self.hi), "energy": e}


class Measured:
    """A stream of final samples, metered as a whole and per item, with its trace over time."""

    def __init__(self, rate: int, window_db: float):
        self.rate = rate
        self.meter = dsp.Meter(rate, window_db=window_db)
        self.spans = Spans(window_db)
        self.trace = Trace(rate)

    def feed(self, y: np.ndarray) -> None:
        self.meter.feed(y)
        self.spans.feed(y)
        self.trace.feed(y)

    def result(self) -> dict:
        return {**self.meter.result(), "items": self.spans.result(self.meter, self.rate),
                "trace": self.trace.result(self.meter)}


STEREO_DB = 10 * math.log10(2)  # two identical channels measure this much louder than one (BS.1770 sums them)


def layout(channels: str) -> list[str]:
    """ffmpeg output options for the podcast's channels: mono, or the mono mix in both channels of a stereo file
    (as a player sends a mono file to both speakers)."""
    return ["-af", "pan=stereo|c0=c0|c1=c0", "-ac", "2"] if channels == "stereo" else ["-ac", "1"]


def mono_mix(channels: str) -> list[str]:
    """ffmpeg options that decode the podcast back to its mono mix: one channel of a stereo file (a downmix of
    two identical channels would be 3 dB up)."""
    return ["-af", "pan=mono|c0=c0"] if channels == "stereo" else ["-ac", "1"]


def as_heard(m: dict, channels: str) -> dict:
    """A measurement of the mono mix (`Measured.result`) as the file measures in its own layout: a stereo file
    of two identical channels is louder by STEREO_DB; peaks and range are the same."""
    if channels != "stereo":
        return m
    up = lambda v: None if v is None else round(v + STEREO_DB, 2)  # noqa: E731
    out = {**m, **{k: up(m.get(k)) for k in ("integrated", "max_momentary", "max_short_term") if k in m}}
    if "items" in m:
        out["items"] = {i: {**v, "integrated": up(v.get("integrated"))} for i, v in m["items"].items()}
    return out


def _with_us() -> list[str]:
    """A prefix that has the encoder killed if this process dies: an encoder left running would finish its file
    after the next build had swept the temporary files away, and leave it behind (Linux, util-linux setpriv)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv and sys.platform.startswith("linux") else []


class Encoder:
    """ffmpeg's MP3 encoder fed from a thread, so encoding runs on the other core while we limit and write."""

    def __init__(self, path: Path, rate: int, bitrate: int, measure: Measured | None = None, channels: str = "mono"):
        path.unlink(missing_ok=True)  # the live meter must never follow an earlier attempt's file
        self.path = path
        # the file is made here and the encoder handed it open: an encoder that outlives a killed build (killed
        # before the encoder could ask to die with it) writes to a file the next build has swept away, and can
        # never make it again by its name. Through /dev/fd it is still a file, so the MP3's header is finished.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            target = f"/dev/fd/{fd}" if os.path.isdir("/dev/fd") else str(path)
            self.proc = subprocess.Popen(
                [*_with_us(), media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(rate),
                 "-ac", "1", "-i", "-", *layout(channels), "-c:a", "libmp3lame", "-b:a", f"{bitrate}k",
                 "-map_metadata", "-1", "-id3v2_version", "0", "-write_id3v1", "0", "-fflags", "+bitexact",
                 "-flags:a", "+bitexact", "-f", "mp3", "-y", target],
                stdin=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,))
        finally:
            os.close(fd)
        media.widen(self.proc.stdin)
        self.q: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.rate = rate
        self.channels = channels
        self.live: LiveMeter | None = None
        if measure is not None:
            self.follow(measure)

    def follow(self, measure: Measured) -> None:
        """Measure the MP3 as it is written (its decoder starts at the priority of the calling thread)."""
        self.live = LiveMeter(self.path, self.rate, lambda: self.proc.poll() is not None, measure, self.channels)

    def _run(self) -> None:
        try:
            while (data := self.q.get()) is not None:
                self.proc.stdin.write(memoryview(data))  # type: ignore[union-attr]
        except BaseException as e:  # a broken pipe shows in close()
            self.error = e
            while self.q.get() is not None:
                pass

    def write(self, x: np.ndarray) -> None:
        if self.stopped:
            raise AudioError("the MP3 encoder was stopped", fix="build again")
        if len(x):
            # the limiter's output is never written to again: queued as it is (a copy only if it is not float32)
            self.q.put(np.ascontiguousarray(x, dtype="<f4"))

    def close(self) -> None:
        self.q.put(None)
        self.thread.join()
        self.proc.stdin.close()  # type: ignore[union-attr]
        err = self.proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
        if self.proc.wait() != 0 or self.error:
            raise AudioError(f"the MP3 encoder failed: {err.strip() or self.error}", fix="run with -v and report it")

    def abort(self) -> None:
        """Stop encoding and measuring at once (the mix failed): no process or thread is left behind."""
        if self.stopped:
            return
        self.stopped = True
        self.proc.kill()
        if self.live is not None:
            self.live.dec.kill()
        self.q.put(None)
        self.thread.join()
        for pipe in (self.proc.stdin, self.proc.stderr):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass
        self.proc.wait()
        if self.live is not None:
            self.live.result()

    def measured(self) -> dict:
        assert self.live is not None
        return self.live.result()


class LiveMeter:
    """Measures an MP3 while the encoder writes it: a thread follows the growing file into a decoder and meters
    what comes out, so the measurement of what listeners hear overlaps the encoding instead of following it."""

    def __init__(self, path: Path, rate: int, finished: Callable[[], bool], measure: Measured, channels: str = "mono"):
        self.path, self.finished = path, finished
        self.measure = measure
        self.dec = subprocess.Popen([media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "mp3", "-i", "-",
                                     *mono_mix(channels), "-ar", str(rate), "-f", "f32le", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.feeder.start()
        self.reader.start()

    def _feed(self) -> None:
        try:
            while not self.path.exists():  # the encoder has not opened it yet
                if self.finished():
                    return
                time.sleep(0.01)
            with open(self.path, "rb") as f:
                while True:
                    done = self.finished()  # read it before the data, so nothing written after is missed
                    data = f.read(1 << 16)
                    if data:
                        self.dec.stdin.write(data)  # type: ignore[union-attr]
                    elif done:
                        break
                    else:
                        time.sleep(0.01)
        except BrokenPipeError:
            pass
        finally:
            self.dec.stdin.close()  # type: ignore[union-attr]

    def _read(self) -> None:
        buf = bytearray(CHUNK * 4)
        view = memoryview(buf)
        have = 0  # bytes in buf; a sample cut in two by a read is completed by the next
        while got := self.dec.stdout.readinto(view[have:]):  # type: ignore[union-attr]
            have += got
            n = have // 4
            if have < len(buf) and n * 4 == have and n < CHUNK // 2:
                continue  # a short read: wait for more before a step (fewer, larger steps)
            self.measure.feed(np.frombuffer(buf, dtype="<f4", count=n))  # measuring keeps no view of it
            rest = have - n * 4
            buf[:rest] = buf[n * 4: have]
            have = rest
        if have >= 4:
            self.measure.feed(np.frombuffer(buf, dtype="<f4", count=have // 4))

    def result(self) -> dict:
        self.feeder.join()
        self.reader.join()
        self.dec.wait()
        return self.measure.result()
