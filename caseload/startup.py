"""Work an app server process does once when it starts, so its first requests don't pay.

asgi.py and wsgi.py call `warm_up()` after Django is set up, before the server takes its
first request: the ICD-10-CM index is loaded (about 0.1 s from its file under var/, see
clinical/icd10.py) and WeasyPrint is imported and renders a tiny document (fonts, 1.5-4 s),
so the first diagnosis search and the first PDF answer at their usual speed; with an outside
AI service configured, the de-identifier's word lists are read too. Before, not beside, the
first requests: done in a background thread, the warm-up took the interpreter from the first
search half of the time (220-313 ms where 74-87 ms is usual, measured by bench/warm_start.py),
while a process that answers only once warm costs its start 1.5 s more.
Then everything the process holds is frozen out of the garbage collector (`gc.freeze()`), so
no full collection walks it again mid-request.
Management commands and the test suite don't import these modules; WARM_UP_AT_START (a
setting, false under pytest) turns it off.
"""

from __future__ import annotations

import gc
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    from caseload.clinical import dsm5tr, icd10

    icd10.get_index()
    dsm5tr.get_index()
    from caseload.lib import pdf  # imports WeasyPrint: seconds

    try:
        pdf.warm_up()
    except Exception:  # a missing system library must not stop the server: PDFs will say so
        logger.exception("Warming up PDF rendering failed")
    if settings.PLAN_AI_BASE_URL:
        # The de-identifier's name and place lists (about 3 s), read before the first
        # "Review what will be sent" page rather than during it.
        from caseload.plans.generators import detect

        detect.place_pattern()
        detect.first_names()
        detect.surnames()
    # What the process holds from now on (modules, templates, the indexes: about 180,000
    # objects) moves out of the garbage collector's sight: a full collection walked all of
    # them, a pause of 100-140 ms that showed as the slowest request of a thousand. (The
    # objects of a request in flight at that moment are frozen too: a one-off, small cost.)
    gc.collect()
    gc.freeze()


def warm_up() -> None:
    if settings.WARM_UP_AT_START:
        _warm_up()
