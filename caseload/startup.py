"""Work an app server process does once when it starts, so its first requests don't pay.

asgi.py and wsgi.py call `warm_up()` after Django is set up. In a background thread, so the
server starts listening at once: the ICD-10-CM index is loaded (about 0.1 s from its file
under var/, see clinical/icd10.py) and WeasyPrint is imported and renders a tiny document
(fonts, about 4 s), so the first diagnosis search and the first PDF answer at their usual
speed; with an outside AI service configured, the de-identifier's word lists are read too.
Then everything the process holds is frozen out of the garbage collector (`gc.freeze()`), so
no full collection walks it again mid-request.
Management commands and the test suite don't import these modules; WARM_UP_AT_START (a
setting, false under pytest) turns it off.
"""

from __future__ import annotations

import gc
import logging
import threading

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


def warm_up() -> threading.Thread | None:
    if not settings.WARM_UP_AT_START:
        return None
    thread = threading.Thread(target=_warm_up, name="warm-up", daemon=True)
    thread.start()
    return thread
