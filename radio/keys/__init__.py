"""Editors' keys and private data at rest: everything private is stored encrypted to the station's editors (age,
through pyrage), public fields stay plain text.

age.py       recipients, identities, encrypt/decrypt/armor (pyrage), each failure one line with a fix
editors.py   keys/editors.toml: who the editors are (public keys; its presence makes a station sealed)
keyring.py   the unlocked identity, in memory only (--identity / RADIO_IDENTITY, or a desk session's passphrase)
store.py     THE way to read and write anything under private/ (sealed files, journals sealed a line at a time)
block.py     a report's private block sealed in its front matter
rotate.py    init, seal, add, remove, rotate (journalled, atomic per file)
audit.py     `radio check`: plain text in the tree or git history, permissions; purging history
commands.py  `radio keys ...`

age, editors, keyring, store and block sit below radio.reports (reports import them); rotate, audit and
commands sit above it.
"""
