"""What a run leaves for people and machines to read after it ends.

- :mod:`~stormcheck.reports.retention`: the run's metrics and log documents, kept in its folder
  before ``down``, and served again for ``stormcheck gate --run`` once the platform is gone.
"""
