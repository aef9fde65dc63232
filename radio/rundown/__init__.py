"""The week's rundown: the model and reading it (`model`), planning it (`plan`) and the studio's edits
(`edits`). Its times are radio/timing.py."""
