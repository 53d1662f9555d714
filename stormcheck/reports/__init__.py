"""Reports: the evidence of a run as Allure results, plots, an HTML report and a Markdown summary.

Everything here reads the run folder (journals, timeline, request log, verdicts, the judge's
``resilience/*.json`` when present) and never imports allure: :mod:`stormcheck.reports.results`
writes Allure 2's documented result files itself, and the pytest adapter (``fixtures/allure.py``)
asks the same functions for its labels, links and attachments.
"""
