"""Audio: decode, per-segment processing, loudness, the show's assembly and its two masters."""
