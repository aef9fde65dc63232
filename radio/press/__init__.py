"""The press service: the week's publishable reports as IPTC ninjs 2.2 news items, for newspapers and agencies.

`items` makes the items (one per report and edition, versioned), `site` writes them under
feeds/<slug>/press/ (one JSON and one HTML page per item, index.json, an Atom feed), and `send` e-mails
the new and changed ones to the press list. Everything here holds PublicReport values only.
"""
