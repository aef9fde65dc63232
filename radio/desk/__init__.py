"""The desk: the commands that change a report (`commands`) and the desk's views of the week (`views`)."""
