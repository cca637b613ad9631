import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
application = get_wsgi_application()

# Build the ICD-10-CM search index in the background so the first search is fast.
from caseload.clinical import icd10  # noqa: E402

threading.Thread(target=icd10.get_index, name="icd10-index", daemon=True).start()
