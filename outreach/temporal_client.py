"""The one way the CLI, the web app and the worker connect to Temporal."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from outreach.settings import Settings


class TemporalUnavailable(RuntimeError):
    pass


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
    except Exception as exc:  # the SDK raises RuntimeError with a long transport message
        raise TemporalUnavailable(
            f"cannot reach Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}): "
            f"{str(exc).splitlines()[0]} (check OUTREACH_TEMPORAL_ADDRESS, or start the stack with `make run`)"
        ) from None
