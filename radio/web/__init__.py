"""The newsroom in the browser (`radio desk`): one app for editors, translators, producers, hosts and
correspondents, behind accounts and roles, on the same station folder and the same rules as the CLI.

accounts.py   users, roles, argon2 password hashes, TOTP second factor (private/desk/users.json)
sessions.py   signed expiring session cookies, CSRF tokens, login rate limits
audit.py      the append-only audit log (private/desk/audit.jsonl)
guard.py      the ASGI guard: allowed hosts, Origin, body limits, per-client connections, headers, error pages
app.py        the routes, each with the roles that may use it; the studio (radio/studio/app.py) mounted as
              the host's view, drawn on the one base template; an editor's key unlocked at login
submit.py     the correspondent's submission form: codenames, replies, into intake's own filing
public.py     public routes other modules contribute: one unsubscribe for every list here; subscribe and confirm
              from radio/subscriptions/web.py
serve.py      `radio desk`: address checks, the listening socket, uvicorn
"""
