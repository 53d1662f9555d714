"""Reports: the evidence of a run as Allure results, plots, an HTML report and a Markdown summary.

Everything here reads the run folder (journals, timeline, request log, verdicts, the judge's
``resilience/*.json`` when present) and never imports allure: :mod:`stormcheck.reports.results`
writes Allure 2's documented result files itself, and the pytest adapter (``fixtures/allure.py``)
asks the same functions for its labels, links and attachments.

- :mod:`~stormcheck.reports.retention`: the run's metrics and log documents, kept in its folder
  before ``down``, and served again for ``stormcheck gate --run`` once the platform is gone.
- :mod:`~stormcheck.reports.trend`: score, budget spent and recovery times across runs, from the
  run store (the one part that reads more than the run's own folder).
"""
