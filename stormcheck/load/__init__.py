"""Load generation: the request log, its analysis, thresholds, and the Locust runner.

Locust itself runs only in a subprocess (:mod:`stormcheck.load.runner`): importing it patches the
whole process with gevent. The modules here that the locustfiles also use (:mod:`.records`,
:mod:`.analysis`, :mod:`.thresholds`) import nothing but the standard library and the engine.
"""
