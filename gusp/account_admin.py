"""Managing staff accounts (the admin page, its API and `gusp users`): list, create with an
invitation, change role, partner, quartiers or name, deactivate, send a reset link; and a
member of staff changing their own password. Services flush; the caller commits."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gusp import accounts, credentials, errors, notify, states
from gusp.config import Settings
from gusp.models import Partner, Quartier, User, UserQuartier, UserSession

UNCHANGED = object()  # "not given" for fields where None means something (no partner)


def list_users(*, session: Session, active: bool | None = None) -> list[User]:
    query = select(User).order_by(User.active.desc(), User.full_name, User.id)
    if active is not None:
        query = query.where(User.active.is_(active))
    return list(session.scalars(query))


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise errors.NotFound("compte_introuvable", f"Aucun compte n° {user_id}.")
    return user


def user_by_email(*, session: Session, email: str) -> User:
    user = accounts.user_by_email(session=session, email=email)
    if user is None:
        raise errors.NotFound("compte_introuvable", f"Aucun compte pour {email.strip()}.")
    return user


def quartiers_of(*, session: Session, user: User) -> list[Quartier]:
    return list(session.scalars(
        select(Quartier).join(UserQuartier, UserQuartier.quartier_id == Quartier.id)
        .where(UserQuartier.user_id == user.id).order_by(Quartier.nom, Quartier.code)
    ))


def quartier_ids(*, session: Session, codes: Iterable[str]) -> list[int]:
    """The ids of quartiers given by code (as /api/v1/quartiers shows them); 422 naming the unknown ones."""
    wanted = {c.strip() for c in codes if c and c.strip()}
    found = dict(session.execute(select(Quartier.code, Quartier.id).where(Quartier.code.in_(wanted))).all())
    missing = sorted(wanted - set(found))
    if missing:
        raise errors.Unprocessable("quartier_inconnu", f"Quartier inconnu : {', '.join(missing)}.", field="quartiers")
    return sorted(found.values())


def create_user(
    *, session: Session, settings: Settings, email: str, full_name: str, role: str, partner_id: int | None,
    quartier_codes: Iterable[str] = (), password: str | None = None,
) -> User:
    """A new account; without a password, an unguessable one and a mailed link to choose one (an invitation)."""
    ids = quartier_ids(session=session, codes=quartier_codes)
    chosen = password or secrets.token_urlsafe(32)
    user = accounts.create_user(session=session, email=email, full_name=full_name, password=chosen, role=role,
                                partner_id=partner_id, quartier_ids=ids)
    if password is None:
        send_reset(session=session, settings=settings, user=user)
    return user


def update_user(
    *, session: Session, user: User, actor: User | None, full_name: str | None = None, role: str | None = None,
    partner_id: object = UNCHANGED, quartier_codes: Iterable[str] | None = None, active: bool | None = None,
) -> User:
    """Change what is given; the role and the partner must agree (a partenaire has one, nobody else does).

    Leaving `partenaire` drops the partner. Nobody deactivates or demotes themselves, and the last
    active admin stays: the service must keep someone who can manage accounts."""
    new_role = _role(role) if role is not None else states.Role(user.role)
    new_partner = user.partner_id if partner_id is UNCHANGED else partner_id
    if role is not None and new_role is not states.Role.PARTENAIRE and partner_id is UNCHANGED:
        new_partner = None
    if new_role is states.Role.PARTENAIRE and new_partner is None:
        raise errors.Unprocessable("partenaire_requis", "Un compte partenaire doit être rattaché à un partenaire.",
                                   field="partner_id")
    if new_role is not states.Role.PARTENAIRE and new_partner is not None:
        raise errors.Unprocessable("partenaire_inattendu", "Seul un compte partenaire est rattaché à un partenaire.",
                                   field="partner_id")
    if new_partner is not None and session.get(Partner, new_partner) is None:
        raise errors.Unprocessable("partenaire_inconnu", f"Aucun partenaire n° {new_partner}.", field="partner_id")
    losing_admin = user.role == states.Role.ADMIN and user.active and (
        new_role is not states.Role.ADMIN or active is False)
    if actor is not None and actor.id == user.id and (losing_admin or active is False):
        raise errors.Conflict("compte_personnel", "Vous ne pouvez pas désactiver votre propre compte ni vous "
                              "retirer le rôle d'administrateur.", field="role" if active is not False else "active")
    if losing_admin and _active_admins(session) <= 1:
        raise errors.Conflict("dernier_admin", "C'est le dernier administrateur actif : nommez-en un autre d'abord.",
                              field="role")
    if full_name is not None:
        name = " ".join(full_name.split())
        if not name or len(name) > 200:
            raise errors.Unprocessable("nom_invalide", "Indiquez un nom de 1 à 200 caractères.", field="full_name")
        user.full_name = name
    user.role, user.partner_id = new_role.value, new_partner
    if quartier_codes is not None:
        ids = quartier_ids(session=session, codes=quartier_codes)
        session.execute(delete(UserQuartier).where(UserQuartier.user_id == user.id))
        session.add_all(UserQuartier(user_id=user.id, quartier_id=q) for q in ids)
    if active is not None:
        user.active = active
        if not active:  # out at once: open sessions end (API tokens stop with the account)
            accounts.close_user_sessions(session=session, user=user)
    session.flush()
    return user


def send_reset(*, session: Session, settings: Settings, user: User) -> bool:
    """Mail the account a link to choose a password; False when refused (inactive, too many links)."""
    reset = credentials.request_password_reset(session=session, settings=settings, email=user.email)
    if reset is None:
        return False
    notify.password_reset(session=session, settings=settings, user=user, reset=reset)
    return True


def change_own_password(*, session: Session, user: User, current: str, new: str, keep: UserSession | None) -> None:
    """The current password first (a borrowed open session is not enough); other sessions end."""
    if not accounts.verify_password(password_hash=user.password_hash, password=current):
        raise errors.Unprocessable("mot_de_passe_incorrect", "Le mot de passe actuel est incorrect.",
                                   field="current_password")
    if current == new:
        raise errors.Unprocessable("mot_de_passe_inchange", "Choisissez un mot de passe différent de l'actuel.",
                                   field="new_password")
    try:
        user.password_hash = accounts.hash_password(new)
    except errors.Unprocessable as error:
        raise errors.Unprocessable(error.code, error.message, field="new_password") from None
    others = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        others = others.where(UserSession.id_hash != keep.id_hash)
    session.execute(others)
    session.flush()


def _role(value: str) -> states.Role:
    try:
        return states.Role(value)
    except ValueError:
        raise errors.Unprocessable("role_inconnu", f"Rôle inconnu ; rôles possibles : {', '.join(states.Role)}.",
                                   field="role") from None


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == states.Role.ADMIN,
                                                                       User.active.is_(True)))
