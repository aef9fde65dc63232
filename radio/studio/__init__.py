"""The studio: hosts read from a prompter and record takes, producers reorder the rundown, with the show re-timed
as each take lands. Its routes (app.py) are part of the desk (radio/web); `radio studio WEEK` starts the desk at
its /studio page."""
