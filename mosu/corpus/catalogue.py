"""The corpus catalogue's cards (语料目录): registering a data set, editing its card, and
finding it and its immutable versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from mosu.corpus.errors import (
    CREATE_NOT_ALLOWED,
    DATASET_NAME_TAKEN,
    MANAGE_OWN_DATASETS,
    NO_SUCH_DATASET,
    NO_SUCH_ORGANISATION,
    NO_SUCH_VERSION,
    OWN_ORGANISATION_ONLY,
)
from mosu.corpus.models import (
    UNKNOWN_LICENCE,
    Dataset,
    DatasetVersion,
)
from mosu.corpus.schemas import (
    DatasetIn,
    DatasetPatch,
)
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_create_dataset,
    can_manage_dataset,
    ensure,
)
from mosu.registry.models import Organisation


def create_dataset(session: Session, *, actor: Actor, data: DatasetIn) -> Dataset:
    """A new card. A supplier registers for its own organisation; an operator for any."""
    ensure(can_create_dataset(actor), CREATE_NOT_ALLOWED)
    organisation_id = data.organisation_id
    if not can_act_for_any_organisation(actor):
        if organisation_id not in (None, actor.organisation_id):
            raise OWN_ORGANISATION_ONLY()
        organisation_id = actor.organisation_id
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise NO_SUCH_ORGANISATION(details={"field": "organisation_id"})
    if session.scalar(select(Dataset.id).where(Dataset.name == data.name)) is not None:
        raise DATASET_NAME_TAKEN(name=data.name, details={"field": "name"})
    dataset = Dataset(
        name=data.name,
        organisation_id=organisation_id,
        licence=data.licence,
        source=data.source,
        provenance=data.provenance,
        modality=data.modality,
        industry_tags=[t.strip() for t in data.industry_tags if t.strip()],
        description=data.description,
        created_by_id=actor.user_id,
    )
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id, options=[selectinload(Dataset.versions)])
    if dataset is None:
        raise NO_SUCH_DATASET()
    return dataset


def editable_dataset(session: Session, *, actor: Actor, dataset_id: int) -> Dataset:
    """The data set, if ``actor`` may change its card or add versions."""
    dataset = get_dataset(session, dataset_id)
    ensure(can_manage_dataset(actor, dataset.organisation_id), MANAGE_OWN_DATASETS)
    return dataset


def update_dataset(
    session: Session, *, actor: Actor, dataset_id: int, data: DatasetPatch
) -> Dataset:
    dataset = editable_dataset(session, actor=actor, dataset_id=dataset_id)
    changes = data.model_dump(exclude_unset=True)
    name = changes.get("name")
    if name and name != dataset.name:
        clash = session.scalar(select(Dataset.id).where(Dataset.name == name))
        if clash is not None:
            raise DATASET_NAME_TAKEN(name=name, details={"field": "name"})
    for key, value in changes.items():
        if value is None:
            continue
        if key == "licence":
            value = value.strip() or UNKNOWN_LICENCE
        setattr(dataset, key, value)
    session.flush()
    return dataset


def list_datasets(session: Session) -> list[Dataset]:
    stmt = (
        select(Dataset)
        .options(selectinload(Dataset.versions), joinedload(Dataset.organisation))
        .order_by(Dataset.name)
    )
    return list(session.scalars(stmt))


def latest(dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions[-1] if dataset.versions else None


def get_version(session: Session, dataset_id: int, number: int) -> DatasetVersion:
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset_id, DatasetVersion.number == number
        )
    )
    if version is None:
        raise NO_SUCH_VERSION()
    return version
