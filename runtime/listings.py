"""What opening a chat needs to know about an assistant, kept in memory for a moment.

Every websocket handshake checks the page's origin against the assistant's allowed sites, and
every new conversation needs the assistant's published version and knowledge base. With a
hundred sessions opening a second those reads were most of the database work of opening one,
each a trip through the single database thread. An entry lives two seconds (``LISTINGS.ttl_s``);
a change saved in this process drops it at once, other worker processes see it within that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async

from core.models import Assistant
from runtime.recent import Recent


@dataclass(frozen=True)
class Listing:
    assistant_id: int
    allowed_origins: tuple[str, ...]
    published_version_id: int | None
    updated_at: datetime
    knowledge_base_id: int | None

    @property
    def published_key(self) -> tuple[Any, ...]:
        """Names what a published conversation runs: version, last edit and knowledge base."""
        return (
            self.assistant_id,
            self.published_version_id,
            self.updated_at,
            self.knowledge_base_id,
        )


LISTINGS: Recent[int, Listing] = Recent(ttl_s=2.0, kept=1024)


def listing_of(assistant: Assistant) -> Listing:
    """The listing of an assistant read with its knowledge base (or of one without)."""
    try:
        knowledge_base_id: int | None = assistant.knowledge_base.pk
    except Assistant.knowledge_base.RelatedObjectDoesNotExist:
        knowledge_base_id = None
    return Listing(
        assistant_id=assistant.pk,
        allowed_origins=tuple(assistant.allowed_origins),
        published_version_id=assistant.published_version_id,
        updated_at=assistant.updated_at,
        knowledge_base_id=knowledge_base_id,
    )


def listing_keep(listing: Listing) -> None:
    LISTINGS.put(listing.assistant_id, listing)


def listing_cached(assistant_id: int) -> Listing | None:
    """The listing if this process read it less than ``LISTINGS.ttl_s`` ago."""
    return LISTINGS.get(assistant_id)


@database_sync_to_async
def _listing_load(assistant_id: int) -> Listing | None:
    assistant = (
        Assistant.objects.select_related("knowledge_base")
        .only("allowed_origins", "published_version_id", "updated_at", "knowledge_base__id")
        .filter(pk=assistant_id)
        .first()
    )
    if assistant is None:
        return None
    listing = listing_of(assistant)
    listing_keep(listing)
    return listing


async def listing(assistant_id: int) -> Listing | None:
    """The assistant's listing, from memory when fresh; None when there is no such assistant."""
    return listing_cached(assistant_id) or await _listing_load(assistant_id)


def listing_forget(assistant_id: int) -> None:
    LISTINGS.forget(assistant_id)


def _forget_assistant(sender: Any, instance: Assistant, **kwargs: Any) -> None:
    listing_forget(instance.pk)


def _forget_knowledge_base(sender: Any, instance: Any, **kwargs: Any) -> None:
    listing_forget(instance.assistant_id)


def listings_watch() -> None:
    """Drop an assistant's listing whenever it or its knowledge base is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    from knowledge.models import KnowledgeBase

    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_forget_assistant, sender=Assistant, dispatch_uid=f"listing-{name}")
        signal.connect(
            _forget_knowledge_base, sender=KnowledgeBase, dispatch_uid=f"listing-kb-{name}"
        )
