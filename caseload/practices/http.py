"""Role decorators for views. A wrong role answers 404, like a missing record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from caseload.accounts.models import User
from caseload.practices.models import Role

View = Callable[..., HttpResponse]


def role_of(user: User) -> str | None:
    membership = getattr(user, "membership", None)
    return membership.role if membership is not None else None


def _role_required(check: Callable[[User], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not isinstance(user, User) or not check(user):
                raise Http404("Not found.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


#: Therapists and supervisors: people who keep or review clinical records.
clinician_required = _role_required(lambda user: role_of(user) in (Role.THERAPIST, Role.SUPERVISOR))
#: Practice admins: settings, members and the audit log; no clinical access.
practice_admin_required = _role_required(lambda user: role_of(user) == Role.ADMIN)
#: Clients and guardians: the portal. Staff accounts have no portal.
portal_user_required = _role_required(lambda user: role_of(user) is None)
#: Any member of a practice (clinicians and practice admins); clients and guardians get 404.
staff_required = _role_required(lambda user: role_of(user) is not None)
#: Who imports clients: a therapist into their caseload, a practice admin for a clinician.
client_importer_required = _role_required(
    lambda user: role_of(user) in (Role.THERAPIST, Role.ADMIN)
)
