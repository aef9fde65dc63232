"""The week leaves the building: the publish tree to hosting targets (S3, SFTP, a directory) and the on-air
master to the broadcaster.

settings.py   [publish] and [broadcaster] in radio.toml
secrets.py    credentials: the environment, else private/ (never argv, never printed)
targets.py    one small interface over S3, SFTP and a directory, with one-line errors
sync.py       the upload: incremental, ordered so no listener sees it half-done, journalled, retention
mirrors.py    SRI integrity and the alternate copies an episode lists
remote.py     `radio check --remote`: the live feed and its enclosures, fetched as a listener's app does
deliver.py    `radio deliver`: the on-air master as the broadcaster wants it, measured as delivered
cli.py        the commands
"""
