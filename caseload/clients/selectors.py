"""Reads of the care core that other layers share. The gate itself is `clients.access`."""

from __future__ import annotations

from caseload.clients.models import CareRelationship, Invitation


def outstanding_invitation(relationship: CareRelationship) -> Invitation | None:
    return relationship.invitations.outstanding().first()
