"""The week's reports: the model and its public projection (`model`), the files on the desk (`files`) and their
translations (`translations`). The withheld-detail check is radio/withheld.py; the commands that change a report
are radio/desk/commands.py; which reports may be published is radio/publishable.py."""
