"""radio: verified reports to a broadcast script, an on-air master, and a podcast."""

__version__ = "0.1.0"
