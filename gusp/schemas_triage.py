"""Shapes of the staff side (triage, partners, routing): richer than the public view."""

from __future__ import annotations


from pydantic import BaseModel, ConfigDict, Field

from gusp import bounds, localtime, states
from gusp.schemas import CategoryPublic, PhotoPublic, QuartierRef, ReportPublic


class PartnerRef(BaseModel):
    id: int
    name: str


class ContactStaff(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    consent: bool


class TimelineEntry(BaseModel):
    at: localtime.LocalDatetime
    kind: str
    actor: str | None
    data: dict
    note: str | None
    note_public: bool


class ReportSummary(BaseModel):
    """A line of the triage list."""

    reference: str
    status: states.ReportStatus
    status_label: str
    priority: states.Priority
    category: CategoryPublic
    quartier: QuartierRef | None
    partner: PartnerRef | None
    description: str
    lat: float
    lon: float
    created_at: localtime.LocalDatetime
    due_at: localtime.LocalDatetime | None
    overdue: bool
    similar_count: int
    thumbnail_url: str | None


class BlurRegion(BaseModel):
    """A blurred region, in pixels of the display photo; `source`: visage (found at intake) or manuel."""

    x: int
    y: int
    w: int
    h: int
    source: str


class PhotoStaff(PhotoPublic):
    """A photo as staff see it: URLs behind sign-in, whether it is hidden, whether the public sees it,
    what is blurred in public and where its unblurred original is (coordinators and admins)."""

    id: int
    hidden: bool = Field(description="Masquée par un coordinateur.")
    public: bool = Field(description="Visible du public (ni masquée, ni catégorie sensible, ni en attente).")
    public_url: str | None = Field(None, description="Son adresse publique, si elle est visible du public.")
    kind: str = Field("signalement", description="signalement ou apres.")
    original_url: str | None = Field(None, description="Photo non floutée (coordinateurs et administrateurs) ; "
                                                       "absente si rien n'est flouté ou si elle a été purgée.")
    blur_regions: list[BlurRegion] = Field(default_factory=list)


class RectangleIn(BaseModel):
    x: int = Field(ge=-100_000, le=100_000)
    y: int = Field(ge=-100_000, le=100_000)
    w: int = Field(gt=0, le=100_000)
    h: int = Field(gt=0, le=100_000)


class BlurIn(BaseModel):
    rectangles: list[RectangleIn] = Field(min_length=1, max_length=20,
                                          description="Rectangles à flouter, en pixels de la photo affichée.")


class ReportStaff(ReportPublic):
    """The detail a member of staff sees (original text, exact place); `contact` only for coordinators and admins."""

    photos: list[PhotoStaff]
    after_photos: list[PhotoStaff] = Field(default_factory=list)
    public_description: str = Field(description="La description telle que le public la lit (masquée).")
    location_public: bool = Field(description="Faux : le public ne voit que le quartier (catégorie sensible).")

    source: states.Source
    priority: states.Priority
    partner: PartnerRef | None
    due_at: localtime.LocalDatetime | None
    overdue: bool
    acknowledged_at: localtime.LocalDatetime | None
    assigned_at: localtime.LocalDatetime | None
    resolved_at: localtime.LocalDatetime | None
    closed_at: localtime.LocalDatetime | None
    rejection_reason: states.RejectionReason | None
    master_reference: str | None
    duplicate_references: list[str] = Field(description="Doublons fusionnés dans ce signalement.")
    similar_count: int
    contact: ContactStaff | None
    staff_timeline: list[TimelineEntry]
    staff_photos: list[PhotoStaff] = []


class ReportPage(BaseModel):
    data: list[ReportSummary]
    count: int = Field(description="Nombre de signalements sur cette page.")
    next_cursor: str | None = Field(None, description="À passer en `cursor` pour la page suivante.")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_id: bounds.Id
    note: str | None = Field(None, max_length=4000)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: states.ReportStatus
    note: str | None = Field(None, max_length=4000)
    note_public: bool = False
    reason: states.RejectionReason | None = None


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: states.Priority


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=64)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=4000)
    public: bool = False


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    master_reference: str = Field(max_length=32)
    note: str | None = Field(None, max_length=4000)
    note_public: bool = Field(False, description="Vrai : la note est publiée (masquée) sur le suivi du doublon.")


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    references: list[str] = Field(min_length=1, max_length=200)
    action: str = Field(pattern="^(assign|status)$", description="`assign` ou `status`.")
    partner_id: bounds.Id | None = None
    status: states.ReportStatus | None = None
    reason: states.RejectionReason | None = None
    note: str | None = Field(None, max_length=4000)
    note_public: bool = False


class BulkItem(BaseModel):
    reference: str
    ok: bool
    code: str | None = None
    message: str | None = None


class BulkOut(BaseModel):
    data: list[BulkItem]
    count: int
    succeeded: int


class DuplicateOut(BaseModel):
    reference: str
    status: states.ReportStatus
    category: CategoryPublic
    description: str
    distance_m: float
    created_at: localtime.LocalDatetime
    later: bool = Field(description="Signalé après celui-ci (il pourrait être fusionné dans celui-ci).")
    photos: list[PhotoPublic]
