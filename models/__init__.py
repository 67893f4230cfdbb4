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

# Tables owned by other modules register themselves on import; list them here so Alembic sees them.
import importlib as _importlib

for _name in ("models.smelters", "models.scorecards"):
    try:
        _importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # not written yet
        if _exc.name != _name:
            raise
