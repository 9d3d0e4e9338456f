"""Creating wards and their residential groups."""

from sqlalchemy import select

from incidents.audit.service import record
from incidents.extensions import db
from incidents.wards.models import GROUP_KINDS, ResidentialGroup, Ward


class WardError(ValueError):
    """A ward request the rules refuse."""


def create_ward(actor, *, code: str, name: str) -> Ward:
    """Create a ward; its code prefixes the human case references."""
    code = code.strip().upper()
    if not code.isascii() or not code.isalnum() or len(code) > 16:
        raise WardError("ward code must be 1–16 letters or digits")
    if db.session.scalar(select(Ward.id).where(Ward.code == code)) is not None:
        raise WardError(f"ward code {code!r} is taken")
    ward = Ward(code=code, name=name.strip())
    db.session.add(ward)
    db.session.flush()
    record("ward.create", actor=actor, target=f"ward:{ward.id}")
    return ward


def add_group(actor, ward: Ward, *, name: str, kind: str | None = None) -> ResidentialGroup:
    """Add a residential group (tổ dân phố or bản) to a ward."""
    name = name.strip()
    if not name:
        raise WardError("a group needs a name")
    kind = kind or ("ban" if name.lower().startswith("bản") else "to_dan_pho")
    if kind not in GROUP_KINDS:
        raise WardError(f"group kind must be one of {', '.join(GROUP_KINDS)}")
    if any(group.name == name for group in ward.groups):
        raise WardError(f"group {name!r} already exists in this ward")
    group = ResidentialGroup(ward=ward, name=name, kind=kind)
    db.session.add(group)
    db.session.flush()
    record("group.create", actor=actor, target=f"group:{group.id}")
    return group


def ward_by_code(code: str) -> Ward | None:
    """Find a ward by its code."""
    return db.session.scalar(select(Ward).where(Ward.code == code.strip().upper()))
