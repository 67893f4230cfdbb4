"""The pure core: facts about a survey computed by plain functions over plain data (no Temporal, no database).

Every face (workflow decisions, the read model, emails, the portal, the dashboard, the CLI, the API, the
reports) calls these instead of deriving a fact its own way (DESIGN.md, "One truth, many faces").
"""
