"""Mail: reports in from correspondents (intake), the weekly bulletin out to member organisations (send).

intake.py     Maildir, mbox and IMAP messages -> reports on the desk, or the quarantine
bulletin.py   the week's public reports -> bulletin.html (inlined CSS), bulletin.txt (72 columns), bulletin.pdf
archive.py    the bulletin's page on the site and its own feed
subscribers.py private/subscribers.csv, checked whole before anything is sent
send.py       one message per subscriber over SMTP, with a journal so nobody gets it twice or not at all
secrets.py    credentials from the environment or private/mail-credentials.toml, never argv or logs
"""
