"""The side effects. `build_activities` wires every activity to its clients (settings, database, files)."""

from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Engine

from outreach.settings import Settings


def build_activities(settings: Settings, engine: Engine) -> list[Callable]:
    from activities.bounces import BounceActivities
    from activities.campaign import CampaignActivities
    from activities.demo import DemoActivities
    from activities.email import EmailActivities
    from activities.scorecards import ScorecardActivities
    from activities.survey import SurveyActivities

    email = EmailActivities(settings, engine)
    scorecard = ScorecardActivities(settings, engine)
    return [email.send_email, scorecard.update_scorecard, *CampaignActivities(settings, engine).all(),
            *BounceActivities(settings, engine, email).all(), DemoActivities(settings, engine).demo_answer,
            *SurveyActivities(settings, engine, scorecards=scorecard).all()]
