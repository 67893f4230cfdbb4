"""Shared types: database tables (the read model), enums, the campaign policy, workflow inputs.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic reads it).
"""

from models.enums import (  # noqa: F401
    CampaignState,
    CorrectiveActionStatus,
    Decision,
    OutboxStatus,
    SurveyOutcome,
    SurveyState,
)
from models.policy import CampaignPolicy  # noqa: F401
from models.tables import (  # noqa: F401
    ActivityFailure,
    Campaign,
    CorrectiveAction,
    CorrectiveActionPlan,
    Escalation,
    Finding,
    OutboxMessage,
    StoredFile,
    Submission,
    Supplier,
    SupplierContact,
    Survey,
    SurveyEvent,
    User,
)

# The reference list and the scorecards keep their tables in their own modules; import them here so
# that SQLModel.metadata (and so Alembic) holds every table.
from models import scorecards as _scorecards  # noqa: E402,F401
from models import smelters as _smelters  # noqa: E402,F401
