"""The few filter routines the audio stage needs, without importing `scipy.signal`.

Importing `scipy.signal` pulls in `scipy.stats` and most of SciPy: about a second of CPU and 50 MB of resident
memory in every process that builds a show, for three small functions. The biquad cascade itself is SciPy's
own compiled `_sosfilt` routine, loaded on its own; the coefficients (Butterworth high-pass, the true-peak
interpolator's windowed sinc) are worked out here with numpy, as SciPy derives them. If the compiled routine
cannot be loaded on its own (another SciPy layout), `scipy.signal` is imported after all: slower, same result.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np


def _load_sosfilt():
    name = "scipy.signal._sosfilt"
    try:
        if name in sys.modules:
            return sys.modules[name]._sosfilt
        import scipy
        spec = importlib.util.find_spec(name) if "scipy.signal" in sys.modules else None
        if spec is None:
            from importlib.machinery import EXTENSION_SUFFIXES
            from pathlib import Path
            base = Path(scipy.__file__).parent / "signal"
            path = next(p for s in EXTENSION_SUFFIXES if (p := base / f"_sosfilt{s}").is_file())
            spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = mod  # a later `import scipy.signal` finds it instead of loading it twice
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        return mod._sosfilt
    except Exception:  # noqa: BLE001 - any failure: the public route below
        sys.modules.pop(name, None)
        from scipy.signal import _sosfilt  # type: ignore[attr-defined]
        return _sosfilt._sosfilt


_sosfilt = _load_sosfilt()


def sosfilt_inplace(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter float32 `x` through the biquad cascade `sos` in place, from state `zi` (sections × 2, float32).
    Returns the new state. `x` must be C-contiguous and writeable."""
    sos = np.ascontiguousarray(sos, dtype=np.float32)
    z = np.ascontiguousarray(zi, dtype=np.float32).reshape(1, len(sos), 2).copy()
    _sosfilt(sos, x.reshape(1, -1), z)
    return z.reshape(len(sos), 2)


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As `scipy.signal.sosfilt(sos, x, zi=zi)` for float32 mono: a filtered copy and the new state."""
    y = np.array(x, dtype=np.float32, order="C")
    return y, sosfilt_inplace(sos, y, zi)


def butter2_highpass(hz: float, rate: int) -> np.ndarray:
    """`scipy.signal.butter(2, hz, "highpass", fs=rate, output="sos")`: one section, derived the same way
    (analogue prototype, pre-warped, bilinear transform)."""
    wn = 2 * hz / rate
    warped = 4 * np.tan(np.pi * wn / 2)
    p = np.exp(1j * np.pi * np.array([3, 5]) / 4)  # the 2nd-order Butterworth prototype's poles
    z = np.zeros(2)  # low-pass to high-pass: two zeros at 0, poles inverted
    k = np.real(1 / np.prod(-p))
    p = warped / p
    fs2 = 4.0
    z_z = (fs2 + z) / (fs2 - z)
    p_z = (fs2 + p) / (fs2 - p)
    k_z = k * np.real(np.prod(fs2 - z) / np.prod(fs2 - p))
    b = k_z * np.real(np.poly(z_z))
    a = np.real(np.poly(p_z))
    return np.array([[*b, *a]], dtype=np.float64)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """`scipy.signal.sosfilt_zi`: the state of each section settled on a unit step (in `sos`'s precision)."""
    sos = np.asarray(sos)
    zi = np.empty((len(sos), 2), dtype=sos.dtype)
    scale = 1.0
    for s in range(len(sos)):
        b, a = sos[s, :3], sos[s, 3:]
        if a[0] != 1.0:
            b, a = b / a[0], a / a[0]
        companion = np.zeros((2, 2), dtype=(-a[1:] / (1.0 * a[0])).dtype)
        companion[0] = -a[1:] / (1.0 * a[0])
        companion[1, 0] = 1
        minus = np.eye(2, dtype=np.result_type(a, b)) - companion.T
        zi[s] = scale * np.linalg.solve(minus, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


def firwin_kaiser(taps: int, cutoff: float, beta: float) -> np.ndarray:
    """`scipy.signal.firwin(taps, cutoff, window=("kaiser", beta))`: a windowed-sinc low-pass (cutoff relative
    to Nyquist) with unit gain at DC."""
    m = np.arange(taps) - 0.5 * (taps - 1)
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(taps, beta)
    return h / h.sum()
