"""The main job: plan files run step by step, with a live display and a closing summary.

* :mod:`~stormcheck.jobs.runner` — :func:`run_plan`: the steps in order, each within its budget;
* :mod:`~stormcheck.jobs.steps` — one function per step kind (up, smoke, gate, catalogue, canary,
  report, down);
* :mod:`~stormcheck.jobs.outcome` — verdicts beside their expectations, and the exit code;
* :mod:`~stormcheck.jobs.progress` — the live display on a terminal, timestamped lines elsewhere;
* :mod:`~stormcheck.jobs.summary` — the closing table.
"""
