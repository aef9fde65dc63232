"""The studio: a local web app where hosts read from a prompter and record takes, and producers reorder the
rundown, with the show re-timed as each take lands. `radio studio WEEK` runs it (radio/studio/serve.py)."""
