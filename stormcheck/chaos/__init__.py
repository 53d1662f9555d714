"""Breaking the platform on purpose, and always undoing it.

Laid out like a Chaos Toolkit extension: activities by target kind (:mod:`stormcheck.chaos.local`:
``actions`` change things, ``probes`` only read), called by Chaos Toolkit by module path and by
Python code directly. Around them:

- :mod:`~stormcheck.chaos.ledger`: before a fault changes anything, an entry saying what it will
  change, how to undo it and who holds it (the holder's own lease) is appended and fsynced; the
  rollback consumes it;
- :mod:`~stormcheck.chaos.undo`: the undo of every kind of fault, idempotent and harmless when
  the change never happened (a crash between the entry and the change);
- :mod:`~stormcheck.chaos.snapshot`: the platform's state, typed, and a diff that explains each
  difference in one line;
- :mod:`~stormcheck.chaos.janitor`: reverts what a dead holder left behind (ledger first, then a
  scan by label and state), and ends orphaned load generators;
- :mod:`~stormcheck.chaos.control`: the Chaos Toolkit control (timeline, target-allowed hook).
"""
