"""Model endpoints: registration with a checked URL, sealed API keys, the engine's key lookup."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.core.credentials import CredentialBox
from mosu.evals.netpolicy import AddressPolicy, URLRefused, check_url
from mosu.permissions import Actor, can_act_for_any_organisation, can_manage_endpoints_of, ensure
from mosu.registry.errors import (
    ENDPOINT_NAME_TAKEN,
    ENDPOINT_OWN_MODEL,
    ENDPOINT_URL_REFUSED,
    KEYS_UNREADABLE,
    NO_SUCH_ENDPOINT,
    REGISTER_OWN_ENDPOINTS,
)
from mosu.registry.lookups import get_model, get_organisation
from mosu.registry.models import ModelEndpoint
from mosu.registry.schemas import EndpointIn, EndpointOut


def endpoint_out(e: ModelEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        organisation_id=e.organisation_id,
        model_id=e.model_id,
        name=e.name,
        base_url=e.base_url,
        model_name=e.model_name,
        has_api_key=e.api_key_encrypted is not None,
        created_at=e.created_at,
        last_check=e.last_check,
    )


def list_endpoints(session: Session, *, actor: Actor) -> list[ModelEndpoint]:
    stmt = select(ModelEndpoint).order_by(ModelEndpoint.id)
    if not can_act_for_any_organisation(actor):
        stmt = stmt.where(ModelEndpoint.organisation_id == actor.organisation_id)
    return list(session.scalars(stmt))


def get_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> ModelEndpoint:
    endpoint = session.get(ModelEndpoint, endpoint_id)
    if endpoint is None or not can_manage_endpoints_of(actor, endpoint.organisation_id):
        raise NO_SUCH_ENDPOINT(endpoint=endpoint_id)
    return endpoint


def check_endpoint_url(url: str, policy: AddressPolicy) -> None:
    """Refuse, with 422 naming why, an endpoint URL races must not call: not http(s), with a
    user name, query or fragment, or an address the policy refuses (private networks unless
    ``MOSU_ALLOW_PRIVATE_ENDPOINTS``; link-local and cloud metadata always). A host name is
    checked again, resolved, whenever a race calls it."""
    try:
        check_url(url, policy)
    except URLRefused as exc:
        raise ENDPOINT_URL_REFUSED(reason=exc.text, details={"field": "base_url"}) from None


def create_endpoint(
    session: Session, *, actor: Actor, data: EndpointIn, box: CredentialBox, policy: AddressPolicy
) -> ModelEndpoint:
    get_organisation(session, data.organisation_id)
    ensure(can_manage_endpoints_of(actor, data.organisation_id), REGISTER_OWN_ENDPOINTS)
    check_endpoint_url(data.base_url, policy)
    if data.model_id is not None:
        model = get_model(session, data.model_id)
        if model.organisation_id != data.organisation_id:
            raise ENDPOINT_OWN_MODEL(details={"field": "model_id"})
    clash = session.scalar(
        select(ModelEndpoint.id).where(
            ModelEndpoint.organisation_id == data.organisation_id, ModelEndpoint.name == data.name
        )
    )
    if clash is not None:
        raise ENDPOINT_NAME_TAKEN(name=data.name, details={"field": "name"})
    key = data.api_key.get_secret_value() if data.api_key is not None else ""
    endpoint = ModelEndpoint(
        organisation_id=data.organisation_id,
        model_id=data.model_id,
        name=data.name,
        base_url=data.base_url,
        model_name=data.model_name,
        api_key_encrypted=box.seal(key) if key else None,
        created_by_id=actor.user_id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> None:
    session.delete(get_endpoint(session, actor=actor, endpoint_id=endpoint_id))
    session.flush()


def endpoint_api_key(endpoint: ModelEndpoint, box: CredentialBox) -> str | None:
    """The decrypted key, for the evaluation engine only; never for a route or page."""
    return box.open(endpoint.api_key_encrypted) if endpoint.api_key_encrypted else None


def endpoint_key_ref(endpoint: ModelEndpoint) -> str:
    """How a model spec names an endpoint's stored key (``key_ref=endpoint:ID``)."""
    return f"endpoint:{endpoint.id}"


def endpoint_secrets(engine: Engine, box: CredentialBox) -> Callable[[str], str | None]:
    """The engine's key lookup for workers: ``endpoint:ID`` → that endpoint's decrypted key."""

    def lookup(ref: str) -> str | None:
        kind, _, number = ref.partition(":")
        if kind != "endpoint" or not number.isdigit():
            return None
        with Session(engine) as session:
            endpoint = session.get(ModelEndpoint, int(number))
            return endpoint_api_key(endpoint, box) if endpoint is not None else None

    return lookup


def reseal_endpoint_keys(session: Session, *, old: CredentialBox, new: CredentialBox) -> int:
    """Re-encrypt every stored endpoint key from ``old`` to ``new`` (a secret key changed);
    keys ``new`` already opens are left as they are. Returns how many were re-encrypted.
    Refuses (changing nothing) when some key opens with neither: the old key is wrong."""
    endpoints = session.scalars(
        select(ModelEndpoint)
        .where(ModelEndpoint.api_key_encrypted.is_not(None))
        .order_by(ModelEndpoint.id)
    ).all()
    resealed: list[tuple[ModelEndpoint, bytes]] = []
    unreadable: list[int] = []
    for endpoint in endpoints:
        sealed = endpoint.api_key_encrypted
        assert sealed is not None
        try:
            new.open(sealed)
            continue
        except ValueError:
            pass
        try:
            resealed.append((endpoint, new.seal(old.open(sealed))))
        except ValueError:
            unreadable.append(endpoint.id)
    if unreadable:
        raise KEYS_UNREADABLE(endpoints=", ".join(str(n) for n in unreadable))
    for endpoint, sealed in resealed:
        endpoint.api_key_encrypted = sealed
    session.flush()
    return len(resealed)
