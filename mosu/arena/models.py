"""Arena tables (竞技场): arenas, their prompts and competitors, answers, battles and votes.

A battle is served to one voter: one prompt and two competitors' answers, sides drawn at
random. Its pairing is shown to that voter only after their vote. Judge models vote on the
same battles, recorded apart from people's votes (``judge`` names the judge); votes
collected elsewhere are stored as battles without a prompt.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base

VOTE_SOURCES = ("human", "judge", "imported")
"""Who gave a vote: a person who saw the battle, a judge model, or votes collected elsewhere."""


class Arena(Base):
    """An arena: a prompt set, competitors, and the rules voters vote under."""

    __tablename__ = "arenas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL")
    )
    votes_per_minute: Mapped[int] = mapped_column(Integer, default=6)
    read_chars_per_second: Mapped[float] = mapped_column(Float, default=30.0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    prompts: Mapped[list[ArenaPrompt]] = relationship(
        back_populates="arena", order_by="ArenaPrompt.id", cascade="all, delete-orphan"
    )
    competitors: Mapped[list[Competitor]] = relationship(
        back_populates="arena", order_by="Competitor.id", cascade="all, delete-orphan"
    )


class ArenaImage(Base):
    """An image a prompt carries (提示图片), checked by :func:`mosu.evals.images.check_image`
    and stored once by the SHA-256 of its bytes (as sent: upright, without EXIF location)."""

    __tablename__ = "arena_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class ArenaPrompt(Base):
    """One prompt of an arena: written by an expert, or a row of a data set version; it
    may carry an image (``image_sha256``), shown to voters and sent to the models."""

    __tablename__ = "arena_prompts"
    __table_args__ = (UniqueConstraint("arena_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arena_id: Mapped[int] = mapped_column(ForeignKey("arenas.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("arena_images.sha256", ondelete="RESTRICT"), index=True
    )

    arena: Mapped[Arena] = relationship(back_populates="prompts")
    image: Mapped[ArenaImage | None] = relationship()


class Competitor(Base):
    """A model competing in an arena, reached through a registry endpoint, a model spec
    (``openai:…``, ``python:…``), pre-written answers, or only named by imported votes."""

    __tablename__ = "arena_competitors"
    __table_args__ = (UniqueConstraint("arena_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arena_id: Mapped[int] = mapped_column(ForeignKey("arenas.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_endpoints.id", ondelete="SET NULL")
    )
    spec: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    arena: Mapped[Arena] = relationship(back_populates="competitors")


class Answer(Base):
    """A competitor's answer to a prompt (or the error that stopped it)."""

    __tablename__ = "arena_answers"
    __table_args__ = (UniqueConstraint("prompt_id", "competitor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(
        ForeignKey("arena_prompts.id", ondelete="CASCADE"), index=True
    )
    competitor_id: Mapped[int] = mapped_column(
        ForeignKey("arena_competitors.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class ArenaGuest(Base):
    """An anonymous voting session (匿名投票会话): a visitor who votes without signing in.

    The browser holds ``token`` in a signed cookie; only its SHA-256 digest is stored (and
    a keyed digest of the client address, to limit new sessions per address). A
    guest's votes are rate-limited and flagged like a signed-in voter's and exported as
    anonymous.
    """

    __tablename__ = "arena_guests"
    __table_args__ = (Index("ix_arena_guests_address_time", "address_digest", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    address_digest: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class Battle(Base):
    """Side A and side B of one prompt, served to ``voter_id`` at ``created_at``.

    Battles without a prompt are votes imported from elsewhere; battles without a voter
    were made for a judge model alone.
    """

    __tablename__ = "arena_battles"
    __table_args__ = (Index("ix_arena_battles_voter", "arena_id", "voter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arena_id: Mapped[int] = mapped_column(ForeignKey("arenas.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(
        ForeignKey("arena_prompts.id", ondelete="CASCADE")
    )
    competitor_a_id: Mapped[int] = mapped_column(
        ForeignKey("arena_competitors.id", ondelete="CASCADE")
    )
    competitor_b_id: Mapped[int] = mapped_column(
        ForeignKey("arena_competitors.id", ondelete="CASCADE")
    )
    answer_a_id: Mapped[int | None] = mapped_column(
        ForeignKey("arena_answers.id", ondelete="CASCADE")
    )
    answer_b_id: Mapped[int | None] = mapped_column(
        ForeignKey("arena_answers.id", ondelete="CASCADE")
    )
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    guest_id: Mapped[int | None] = mapped_column(
        ForeignKey("arena_guests.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    prompt: Mapped[ArenaPrompt | None] = relationship()
    competitor_a: Mapped[Competitor] = relationship(foreign_keys=[competitor_a_id])
    competitor_b: Mapped[Competitor] = relationship(foreign_keys=[competitor_b_id])
    answer_a: Mapped[Answer | None] = relationship(foreign_keys=[answer_a_id])
    answer_b: Mapped[Answer | None] = relationship(foreign_keys=[answer_b_id])
    votes: Mapped[list[Vote]] = relationship(back_populates="battle", order_by="Vote.id")


class Vote(Base):
    """A verdict on a battle: by a person (``voter_id``, or an anonymous session's
    ``guest_id``), a judge model (``judge``), or imported. One vote per voter per battle and one per judge per battle, by constraint."""

    __tablename__ = "arena_votes"
    __table_args__ = (
        UniqueConstraint("battle_id", "voter_id", name="uq_arena_votes_voter"),
        UniqueConstraint("battle_id", "judge", name="uq_arena_votes_judge"),
        UniqueConstraint("battle_id", "guest_id", name="uq_arena_votes_guest"),
        Index("ix_arena_votes_voter_time", "voter_id", "created_at"),
        Index("ix_arena_votes_guest_time", "guest_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(
        ForeignKey("arena_battles.id", ondelete="CASCADE"), index=True
    )
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("arena_guests.id", ondelete="SET NULL"))
    judge: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="human")
    winner: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    battle: Mapped[Battle] = relationship(back_populates="votes")
