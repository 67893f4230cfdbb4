"""Bounces from a real relay: delivery-status notifications read from the bounce mailbox.

parse.py reads one message (bytes in, BounceReading out), mailbox.py lists and marks the mailbox's
messages (IMAP or a Maildir folder), record.py ties a bounce to its outbox row and records it once. The
activity in activities/bounces.py runs them; workflows/bounce_watch.py runs it on a schedule and tells the
surveys.
"""
