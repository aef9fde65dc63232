"""radio: verified reports to a broadcast script, an on-air master, and a podcast."""

import os

__version__ = "0.1.0"

# Our numeric work is streaming and small-matrix: BLAS threads would only fight ffmpeg for the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
