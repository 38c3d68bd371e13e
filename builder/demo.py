"""Seeding the demo account, workspace and assistant (named in ``core.demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from builder import services
from builder.demo_content import ANNOTATED, ENTITIES, FLOW, INTENTS, KNOWLEDGE
from core.demo import DEMO_ASSISTANT, DEMO_PASSWORD, DEMO_USERNAME, DEMO_WORKSPACE
from core.models import Assistant, Membership, Role, Workspace
from knowledge.services import document_upload, knowledge_base_of

DEMO_DESCRIPTION = "Takes pizza orders, tracks deliveries and answers questions about the menu."
DEMO_PROMPT = "Topping suggestion"
DEMO_PROMPT_SYSTEM = "You work at {{shop}}, a pizza restaurant. Answer in one or two sentences."
DEMO_PROMPT_TEMPLATE = "Suggest a topping to go with {{topping}}."


@dataclass(frozen=True)
class Demo:
    workspace: Workspace
    assistant: Assistant
    created: bool


@transaction.atomic
def demo_seed() -> Demo:
    """Create the demo user, workspace and assistant, or bring them back to their demo state.

    Idempotent: a second run finds the same rows and creates nothing new. The demo password is
    reset each time, so the login printed by ``seed_demo`` always works.
    """
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
    )
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])

    membership = (
        Membership.objects.filter(user=user, role=Role.OWNER, workspace__name=DEMO_WORKSPACE)
        .select_related("workspace")
        .first()
    )
    workspace = (
        membership.workspace
        if membership
        else services.workspace_create(name=DEMO_WORKSPACE, owner=user)
    )
    assistant = workspace.assistants.filter(name__iexact=DEMO_ASSISTANT).first()
    if assistant is None:
        created = True
        assistant = services.assistant_create(
            workspace=workspace, name=DEMO_ASSISTANT, description=DEMO_DESCRIPTION
        )
    demo_content_seed(assistant)
    if not assistant.prompts.filter(name__iexact=DEMO_PROMPT).exists():
        # Runs on the bundled local model (the assistant's default) with no key and no network.
        services.prompt_create(
            assistant=assistant,
            name=DEMO_PROMPT,
            system=DEMO_PROMPT_SYSTEM,
            template=DEMO_PROMPT_TEMPLATE,
            temperature=0.2,
            max_tokens=80,
        )
    return Demo(workspace=workspace, assistant=assistant, created=created)


def demo_content_seed(assistant: Assistant) -> None:
    """Entities, intents and the ordering flow, each created only if missing."""
    for entity in ENTITIES:
        if not assistant.entities.filter(name=entity["name"]).exists():
            services.entity_create(assistant=assistant, **entity)
    for name, (description, utterances) in INTENTS.items():
        if not assistant.intents.filter(name=name).exists():
            services.intent_create(
                assistant=assistant,
                name=name,
                description=description,
                utterances=[*utterances, *ANNOTATED.get(name, [])],
            )
    if not assistant.flows.exists():
        services.flow_create(assistant=assistant, name="Main", graph=FLOW)
    kb = knowledge_base_of(assistant)
    for name, text in KNOWLEDGE.items():
        if not kb.documents.filter(name=name).exists():
            document_upload(kb, name=name, data=text.encode())


def demo_publish(assistant: Assistant) -> bool:
    """Train the demo's NLU now (not in the background) and publish it, unless it is published.

    ``seed_demo`` runs before the server starts, so the widget on the demo page can chat at once.
    """
    if assistant.published_version_id is not None:
        return False
    run = services.training_request(assistant=assistant)
    services.training_run_execute(run.pk)
    services.assistant_publish(assistant=assistant, notes="The demo, as seeded.")
    return True
