"""Who may do what: every permission decision in mosu is made by a function here.

Routes declare a *requirement* (public, signed in, or a set of roles) through
:func:`require`; rules that depend on the record (ownership) are the ``can_*``
predicates, which services call through :func:`ensure`.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mosu.core.errors import NOT_ALLOWED, ROLE_NOT_ALLOWED, SIGN_IN, Error


class Role(enum.StrEnum):
    """运营方 operator, 需求方 demand, 供给方 supplier, 专家 expert."""

    operator = "operator"
    demand = "demand"
    supplier = "supplier"
    expert = "expert"


@dataclass(frozen=True)
class Actor:
    """Whoever is asking: a signed-in user, or the public (``user_id`` is ``None``)."""

    user_id: int | None = None
    role: Role | None = None
    organisation_id: int | None = None
    username: str = ""

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_operator(self) -> bool:
        return self.role is Role.operator

    def belongs_to(self, organisation_id: int | None) -> bool:
        return organisation_id is not None and self.organisation_id == organisation_id


PUBLIC = Actor()


@dataclass(frozen=True)
class Requirement:
    """What a route needs before it runs; ``roles`` empty means any signed-in user."""

    authenticated: bool
    roles: frozenset[Role] = frozenset()
    who: str = ""
    """Who may call, in words, where a route checks something other than a role."""

    def check(self, actor: Actor) -> None:
        if not self.authenticated:
            return
        if not actor.is_authenticated:
            raise SIGN_IN()
        if self.roles and actor.role not in self.roles:
            raise ROLE_NOT_ALLOWED()

    def describe(self) -> str:
        if self.who:
            return self.who
        if not self.authenticated:
            return "public"
        return "any signed-in user" if not self.roles else ", ".join(sorted(self.roles))


ANYONE = Requirement(authenticated=False)
SIGNED_IN = Requirement(authenticated=True)


def roles(*allowed: Role) -> Requirement:
    return Requirement(authenticated=True, roles=frozenset(allowed))


OPERATOR = roles(Role.operator)
METRICS_SCRAPER = Requirement(
    authenticated=False, who="allowed addresses (MOSU_METRICS_ALLOW) or the metrics token"
)


def may_scrape_metrics(
    address: str | None, bearer: str | None, *, allowed: str, token: str | None
) -> bool:
    """Whether a client may read ``/metrics``: from a network in ``allowed`` (comma-separated
    CIDRs), or anywhere with the configured ``token`` (compared in constant time)."""
    if token and bearer and hmac.compare_digest(bearer.encode(), token.encode()):
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in filter(None, (n.strip() for n in allowed.split(","))):
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def ensure(allowed: bool, error: Error = NOT_ALLOWED, /, **params: object) -> None:
    """Raise ``error`` (a catalogued :class:`Error`, with ``params`` for its fields) unless
    ``allowed``."""
    if not allowed:
        raise error(**params)


def can_see_contact(actor: Actor, organisation_id: int) -> bool:
    """Contacts of an organisation: operators and the organisation's own members."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_edit_organisation(actor: Actor, organisation_id: int) -> bool:
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_set_standing(actor: Actor) -> bool:
    """Tier, residency and credit code are the operator's record, not self-declared."""
    return actor.is_operator


def can_create_organisation(actor: Actor) -> bool:
    return actor.is_operator


def can_manage_models_of(actor: Actor, organisation_id: int) -> bool:
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_manage_filings_of(actor: Actor, organisation_id: int) -> bool:
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_set_filing_status(actor: Actor) -> bool:
    """Suspension or revocation is the regulator's record, kept by operators."""
    return actor.is_operator


def can_manage_endpoints_of(actor: Actor, organisation_id: int) -> bool:
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_bulk_import(actor: Actor) -> bool:
    return actor.is_operator


RequirementCheck = Callable[[Actor], None]


def can_create_dataset(actor: Actor) -> bool:
    """Operators, and suppliers on behalf of their organisation, may register corpora."""
    return actor.is_operator or (actor.role is Role.supplier and actor.organisation_id is not None)


def can_manage_dataset(actor: Actor, organisation_id: int | None) -> bool:
    """A data set's card and new versions: operators, and suppliers of the providing
    organisation (its demand or expert members read the card like everyone else)."""
    return actor.is_operator or (actor.role is Role.supplier and actor.belongs_to(organisation_id))


def can_read_hidden_split(actor: Actor) -> bool:
    """Hidden (test) rows, their labels and any file or example quoting them: operators only."""
    return actor.is_operator


def can_check_contamination(actor: Actor) -> bool:
    return actor.is_operator


# ---------------------------------------------------------------- scenarios and challenges


def can_manage_scenario(actor: Actor, organisation_id: int) -> bool:
    """A scenario is posted and edited by its demand organisation's users and by operators."""
    return actor.is_operator or (actor.role is Role.demand and actor.belongs_to(organisation_id))


def can_read_draft_scenario(actor: Actor, organisation_id: int) -> bool:
    """Drafts are seen by their own organisation and operators; other states by everyone."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_manage_challenge(actor: Actor) -> bool:
    """Publishing a challenge from a scenario, editing a draft, deciding and shortlisting."""
    return actor.is_operator


def can_read_draft_challenge(actor: Actor, organisation_id: int) -> bool:
    """A draft challenge: operators and the issuing demand organisation."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_apply(actor: Actor, lead_organisation_id: int) -> bool:
    """揭榜: a supplier applies with its own organisation as the lead."""
    return actor.role is Role.supplier and actor.belongs_to(lead_organisation_id)


def can_read_all_applications(actor: Actor, challenge_organisation_id: int) -> bool:
    """Every application of a challenge: operators and the issuing demand organisation."""
    return actor.is_operator or actor.belongs_to(challenge_organisation_id)


def can_read_application(
    actor: Actor, *, challenge_organisation_id: int, team: set[int] | frozenset[int]
) -> bool:
    """One application (proposal, file, models): the above, and its lead and members."""
    return can_read_all_applications(actor, challenge_organisation_id) or (
        actor.organisation_id is not None and actor.organisation_id in team
    )


def can_read_decision_reason(actor: Actor, team: set[int] | frozenset[int]) -> bool:
    """Why an application was decided: operators and the applying team only."""
    return actor.is_operator or (
        actor.organisation_id is not None and actor.organisation_id in team
    )


def can_withdraw_application(actor: Actor, lead_organisation_id: int) -> bool:
    return actor.role is Role.supplier and actor.belongs_to(lead_organisation_id)


def can_see_usernames(actor: Actor) -> bool:
    """Who (which user) acted in an audit log: operators; everyone else sees the actor's
    organisation (or 运营方 for an operator), never a username."""
    return actor.is_operator


def can_manage_users(actor: Actor) -> bool:
    """Creating users, resetting passwords, deactivating and reactivating: operators."""
    return actor.is_operator


def can_run_race(actor: Actor) -> bool:
    """Stages, house entries, closing stages, re-running jobs and naming winners: operators."""
    return actor.is_operator


def can_read_race_report(actor: Actor, issuer_organisation_id: int) -> bool:
    """The full race report of a challenge: operators and the issuing demand organisation."""
    return actor.is_operator or actor.belongs_to(issuer_organisation_id)


def can_see_every_race_of_model(actor: Actor, organisation_id: int) -> bool:
    """Every race a model ran (which application raced it): operators and the model's own
    organisation; everyone else sees the races it won."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_see_entry(actor: Actor, entry_organisation_ids: set[int]) -> bool:
    """An entry's submissions, files, logs and full rows: operators and the entry's own team
    (its lead organisation and consortium members)."""
    return actor.is_operator or (
        actor.organisation_id is not None and actor.organisation_id in entry_organisation_ids
    )


def can_submit_for(actor: Actor, entry_organisation_id: int | None) -> bool:
    """Submitting is done by the entry's lead organisation (operators for house entries)."""
    if entry_organisation_id is None:
        return actor.is_operator
    return actor.belongs_to(entry_organisation_id)


# --- races ---


def owns_entry(actor: Actor, entry_organisation_ids: set[int]) -> bool:
    """The entry is the reader's own team's (operators see every entry but own none)."""
    return not actor.is_operator and can_see_entry(actor, entry_organisation_ids)


def can_see_private_score(actor: Actor, *, stage_closed: bool) -> bool:
    """A submission's private (final) score: operators at once, its team once the stage has
    closed and the final ranking is revealed."""
    return actor.is_operator or stage_closed


def can_download_inputs(actor: Actor, *, has_entry: bool) -> bool:
    """A predictions stage's test inputs (without labels): operators and entries' teams."""
    return actor.is_operator or has_entry


def can_see_unopened_stage(actor: Actor) -> bool:
    """A stage's test inputs before it opens: operators only."""
    return actor.is_operator


def can_cancel_submission(actor: Actor, entry_organisation_id: int | None) -> bool:
    """Stopping a queued or running submission: its team, and operators."""
    return actor.is_operator or can_submit_for(actor, entry_organisation_id)


def can_cancel_finished_submission(actor: Actor) -> bool:
    """Marking a finished submission cancelled (it stops counting): operators only."""
    return actor.is_operator


def has_team_panel(actor: Actor, *, house_entry: bool) -> bool:
    """The race page's team panel (limits, submissions, the form) of an entry the reader
    sees: its team; operators only for house entries (baselines), which they submit for."""
    return house_entry or not actor.is_operator


# ---------------------------------------------------------------- key-element supply (要素供给)


def can_manage_offers_of(actor: Actor, organisation_id: int | None) -> bool:
    """Compute pools, corpus offers and model services: operators, and the supplier's members."""
    return actor.is_operator or (actor.role is Role.supplier and actor.belongs_to(organisation_id))


def can_manage_programmes(actor: Actor) -> bool:
    """Voucher programmes, their budgets and rules are the operator's."""
    return actor.is_operator


def can_keep_firm_facts(actor: Actor) -> bool:
    """Founding dates, firm sizes and related parties decide subsidies: operators keep them."""
    return actor.is_operator


def can_see_firm_facts(actor: Actor, organisation_id: int) -> bool:
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_apply_for(actor: Actor, organisation_id: int | None) -> bool:
    """An organisation's members apply for vouchers for it; operators for anyone."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_see_application(actor: Actor, organisation_id: int | None) -> bool:
    """An application, its contract and attachment: operators and the applicant's members."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_review_applications(actor: Actor) -> bool:
    """Approving, reducing, rejecting and recording payouts: operators only."""
    return actor.is_operator


def can_record_compute_usage(actor: Actor, pool_organisation_id: int) -> bool:
    """Usage of a pool (e.g. a race's evaluation compute): operators and the pool's supplier."""
    return actor.is_operator or actor.belongs_to(pool_organisation_id)


def can_see_supply_reports(actor: Actor) -> bool:
    """Spending by programme, kind, tier and month, and the ledger: operators."""
    return actor.is_operator


def can_manage_arena(actor: Actor) -> bool:
    """Arenas, their competitors, answers, judges and imported votes: operators."""
    return actor.is_operator


def can_vote(actor: Actor) -> bool:
    """Any signed-in user votes in arena battles, blind: names appear only after the vote."""
    return actor.is_authenticated


def can_vote_in_arena(actor: Actor, *, anonymous_session: bool) -> bool:
    """Signed-in users vote as themselves; the public votes through an anonymous arena
    session (sign-up stays optional), under the same limits and flags."""
    return can_vote(actor) or anonymous_session


def can_see_voters(actor: Actor) -> bool:
    """Who voted how fast and on which side (the abuse flags): operators only."""
    return actor.is_operator


# ---------------------------------------------------------------- supply–demand matching


def can_manage_case_studies(actor: Actor, organisation_id: int) -> bool:
    """An organisation's case studies (落地案例): its own members and operators."""
    return actor.is_operator or actor.belongs_to(organisation_id)


def can_mark_interest(actor: Actor, organisation_id: int) -> bool:
    """Interest in a scenario is marked for a supplier's own organisation (operators: any)."""
    return actor.is_operator or (actor.role is Role.supplier and actor.belongs_to(organisation_id))


def can_read_interests(actor: Actor, scenario_organisation_id: int) -> bool:
    """Who marked interest in a scenario: operators and the demand organisation; a supplier
    sees only its own organisation's interest."""
    return actor.is_operator or actor.belongs_to(scenario_organisation_id)


# --- challenges ---

ChallengeParty = Literal["operator", "issuer"]


def challenge_parties(actor: Actor, issuer_organisation_id: int) -> frozenset[ChallengeParty]:
    """Which parties of a challenge the actor acts as: ``operator`` (运营方) and ``issuer``
    (a member of the demand organisation that owns it); lifecycle moves name these."""
    parties: set[ChallengeParty] = set()
    if actor.is_operator:
        parties.add("operator")
    if actor.belongs_to(issuer_organisation_id):
        parties.add("issuer")
    return frozenset(parties)


def can_read_every_challenge(actor: Actor) -> bool:
    """Every challenge, drafts included, whoever issued it: operators."""
    return actor.is_operator


def can_apply_now(actor: Actor, *, takes_applications: bool) -> bool:
    """The 揭榜 button: a supplier with an organisation, applying as its lead, while the
    challenge takes applications (the rule :func:`can_apply` checks on submission)."""
    return (
        takes_applications
        and actor.organisation_id is not None
        and can_apply(actor, actor.organisation_id)
    )


def can_edit_challenge(actor: Actor, *, draft: bool) -> bool:
    """A challenge's terms are edited by operators while it is a draft."""
    return draft and can_manage_challenge(actor)


def acts_for_platform(role: Role) -> bool:
    """In a challenge's audit log an operator shows as 运营方, not as an organisation."""
    return role is Role.operator


# --- registry ---


def can_delete_organisation(actor: Actor) -> bool:
    """Deleting an organisation (its models, filings and endpoints go with it): operators."""
    return actor.is_operator


def can_delete_filing(actor: Actor) -> bool:
    return actor.is_operator


def can_set_regional_total(actor: Actor) -> bool:
    """The region's total of filed models, the denominator of the community's share."""
    return actor.is_operator


def can_act_for_any_organisation(actor: Actor) -> bool:
    """Whether the actor's forms (a model, an endpoint, an offer, a voucher application, a
    data set, a scenario) may name any organisation (operators) or only its own."""
    return actor.is_operator


def can_add_to_registry(actor: Actor) -> bool:
    """Whether "new model" and "new filing" are offered: operators and members of an
    organisation (what they may file for is narrowed by the ``can_manage_*_of`` rules)."""
    return actor.is_operator or (actor.is_authenticated and bool(actor.organisation_id))


def supplier_organisation(actor: Actor) -> int | None:
    """The organisation a supplier acts for (its endpoints, the board's opportunities and
    interest); ``None`` for every other role."""
    return actor.organisation_id if actor.role is Role.supplier else None


# --- accounts ---


def role_needs_organisation(role: Role) -> bool:
    """Demand and supplier users belong to an organisation; operators and experts may not."""
    return role is not Role.operator and role is not Role.expert


def can_revoke_token(actor: Actor, owner_user_id: int) -> bool:
    """An API token is revoked by its owner or by an operator."""
    return owner_user_id == actor.user_id or actor.is_operator


# --- scenarios ---

#: Who may reach the scenario forms and the API that posts and edits scenarios.
SCENARIO_AUTHORS = roles(Role.operator, Role.demand)


def can_post_scenario(actor: Actor) -> bool:
    """Posting a scenario at all: operators, and demand users of an organisation."""
    return actor.is_operator or (actor.role is Role.demand and actor.organisation_id is not None)


def can_read_every_draft_scenario(actor: Actor) -> bool:
    """The board without the draft filter: operators."""
    return actor.is_operator


# --- supply ---


def can_offer_supply(actor: Actor) -> bool:
    """Publishing compute, corpus or model offers at all: operators and suppliers' members."""
    return actor.is_operator or can_manage_offers_of(actor, actor.organisation_id)


def can_apply_for_vouchers(actor: Actor) -> bool:
    """Applying for vouchers at all: operators, and members of an organisation."""
    return actor.is_operator or actor.organisation_id is not None


def can_see_every_application(actor: Actor) -> bool:
    """Every voucher application, not only one's own organisation's: operators."""
    return actor.is_operator


# --- expert review (专家评审) ---


def can_manage_expert_pool(actor: Actor) -> bool:
    """The expert pool: every profile, who is in it, affiliations, import and export, and
    each expert's load; an expert reads and edits their own fields and conflicts only."""
    return actor.is_operator


def can_set_rubric(actor: Actor) -> bool:
    """A challenge's review rubric (评审细则) is set by operators, while it is a draft."""
    return actor.is_operator


def can_read_rubric(actor: Actor, *, published: bool) -> bool:
    """A rubric is public once its challenge is published; a draft's only to operators."""
    return published or actor.is_operator


# --- review: panel results, shortlist and the combined decision ---


def can_see_panel_progress(actor: Actor) -> bool:
    """An open panel's progress (who confirmed, how many scores are in), never the scores:
    operators. Everyone else sees a panel's results only once it has closed."""
    return actor.is_operator


def can_decide_by_panel(actor: Actor) -> bool:
    """Confirming the panel's shortlist (or departing from it with a reason) and naming the
    winners by the combined rule: operators."""
    return actor.is_operator


def grades_race_answers(role: Role | None) -> bool:
    """Who grades sampled race answers (专家复核), when a round names them: experts."""
    return role is Role.expert


EXPERT_ROLES = frozenset({Role.expert})
"""The roles whose users sit on review panels and make up the expert pool (专家库)."""


def is_expert(role: Role | None) -> bool:
    """Whether a user of ``role`` belongs in the expert pool (and has an expert profile)."""
    return role in EXPERT_ROLES


def has_review_queue(actor: Actor) -> bool:
    """An expert's work queue (评审任务): panels to confirm, applications to score."""
    return can_sit_on_panels(actor)


def can_sit_on_panels(actor: Actor) -> bool:
    """Confirming, recusing oneself and scoring on a panel one was drawn for: experts."""
    return actor.role is Role.expert


def can_manage_panels(actor: Actor) -> bool:
    """Drawing a challenge's panel, its deadline and close, recording a member's recusal,
    and seeing who sits on it, why experts were excluded and how far each has scored (never
    the scores before the close): operators."""
    return actor.is_operator


def can_see_panel_members(actor: Actor, *, closed: bool) -> bool:
    """Who sits on a panel: operators, and everyone once it has closed."""
    return can_manage_panels(actor) or closed
