"""Export and import: the whole assistant round-trips exactly; Rasa YAML and CSV NLU data come in
with a report of what was skipped and why; bad files are refused whole."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from core.models import Assistant, PromptTestCase, Workspace
from core.nlu_data import nlu_matcher
from knowledge.models import DocumentStatus, Fusion, KnowledgeBase
from knowledge.search import kb_search
from knowledge.services import SETTINGS_FIELDS, document_upload, knowledge_base_update
from nlu.store import registry
from quality.services.conversation_tests import conversation_test_create
from quality.services.prompt_tests import prompt_test_case_create

pytestmark = pytest.mark.django_db(transaction=True)

PROBES = [
    "a large pepperoni please",
    "where's my pizza",
    "cancel order PP-4821",
    "are you open on monday",
    "I'd like to speak to a person",
    "blue whales are mammals",
]


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    with transaction.atomic():
        demo_content_seed(assistant)
        services.prompt_create(assistant=assistant, name="Upsell", template="Sell {{topping}}.")
    flow = assistant.flows.get()
    graph = dict(flow.graph)
    graph["steps"] = [*graph["steps"], {"id": "sell", "type": "generate",
                      "prompt": assistant.prompts.get().pk, "next": "confirm"}]  # fmt: skip
    graph["triggers"] = [*graph["triggers"], {"intent": "menu", "next": "sell"}]
    services.flow_update(flow=flow, graph=graph)
    conversation_test_create(
        assistant=assistant,
        name="Hours",
        suite="smoke",
        turns=[{"user": "when are you open", "expect": [{"kind": "step", "value": "hours"}]}],
    )
    return assistant


def comparable(document: dict) -> dict:
    """An export without what differs between two copies: the name and the prompts' ids."""
    copy = {**document, "assistant": {**document["assistant"], "name": None}}
    ids = {prompt["id"]: index for index, prompt in enumerate(document["prompts"])}
    copy["prompts"] = [{**prompt, "id": ids[prompt["id"]]} for prompt in document["prompts"]]
    copy["flows"] = [
        {**flow, "graph": {**flow["graph"], "steps": [
            {**step, "prompt": ids[step["prompt"]]} if step["type"] == "generate" else step
            for step in flow["graph"]["steps"]
        ]}}
        for flow in document["flows"]
    ]  # fmt: skip
    return copy


def test_export_then_import_gives_an_identical_assistant_that_behaves_the_same(
    pizza, workspace: Workspace
):
    exported = services.assistant_export(pizza)
    archive = io.BytesIO(services.assistant_export_file(pizza).data)  # the documents too

    with transaction.atomic():
        twin = services.assistant_import_file(workspace=workspace, upload=archive, name="Twin")

    assert comparable(services.assistant_export(twin.assistant)) == comparable(exported)
    assert exported["conversation_tests"][0]["suite"] == "smoke"  # the tests came along
    theirs = registry().published_model(pizza.pk, "draft").parse_batch(PROBES)
    ours = registry().published_model(twin.assistant.pk, "draft").parse_batch(PROBES)
    assert [(p.intent, round(p.confidence, 4)) for p in ours] == [
        (p.intent, round(p.confidence, 4)) for p in theirs
    ]
    assert [[(e.entity, e.value) for e in p.entities] for p in ours] == [
        [(e.entity, e.value) for e in p.entities] for p in theirs
    ]


def test_an_import_with_a_bad_entry_names_it_and_creates_nothing(pizza, workspace):
    exported = services.assistant_export(pizza)
    exported["intents"][2]["utterances"].append({"text": "x", "entities": [
        {"start": 0, "end": 9, "entity": "size"}]})  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        services.assistant_import(workspace=workspace, document=exported, name="Broken")

    assert refused.value.message_dict["document"] == [
        "intents[2], utterances: line 9: The annotation 0-9 is outside the text."
    ]
    assert not Assistant.objects.filter(name="Broken").exists()


WARRANTY = b"# Warranty\n\nThe Brightwave T2 thermostat has a 3-year limited warranty.\n"


@pytest.fixture
def whole(pizza: Assistant) -> Assistant:
    """The pizza assistant with everything a creator sets: allowed sites and other settings, a
    tuned knowledge base holding an uploaded document (the demo's and one more, tagged), and a
    prompt test case."""
    services.assistant_update(
        assistant=pizza,
        allowed_origins=["https://shop.example.com", "http://localhost:8000"],
        nlu_threshold=0.42,
        hybrid_enabled=True,
        hybrid_low=0.25,
    )
    services.assistant_llm_policy_update(
        assistant=pizza,
        model=None,
        requests_per_minute=30,
        tokens_per_minute=None,
        monthly_budget=Decimal("12.50"),
        injection_judge=True,
    )
    pizza.publish_requires_tests = True
    pizza.save(update_fields=["publish_requires_tests"])
    kb = KnowledgeBase.objects.get(assistant=pizza)
    knowledge_base_update(kb, top_k=5, min_score=0.2, fusion=Fusion.RRF)
    document_upload(kb, name="warranty.md", data=WARRANTY, tags=["Policies"])
    prompt_test_case_create(
        prompt=pizza.prompts.get(),
        name="Pepperoni",
        values={"topping": "pepperoni"},
        checks=[{"kind": "contains", "value": "pepperoni"}],
    )
    return pizza


def test_the_whole_assistant_moves_with_its_documents_settings_tests_and_sites(
    client_for, editor, outsider, whole, other_workspace
):
    exported = client_for(editor).get(f"/assistants/{whole.pk}/export/")

    page = client_for(outsider).post(
        f"/workspaces/{other_workspace.pk}/import/",
        {"file": SimpleUploadedFile("pizza.zip", exported.getvalue())},
        follow=True,
    )

    copy = other_workspace.assistants.get()
    assert copy.name == whole.name
    assert copy.allowed_origins == ["https://shop.example.com", "http://localhost:8000"]
    assert (copy.nlu_threshold, copy.hybrid_enabled, copy.hybrid_low) == (0.42, True, 0.25)
    assert (copy.llm_requests_per_minute, copy.llm_tokens_per_minute) == (30, None)
    assert (copy.llm_monthly_budget, copy.llm_injection_judge) == (Decimal("12.50"), True)
    assert copy.publish_requires_tests
    theirs = KnowledgeBase.objects.get(assistant=whole)
    ours = KnowledgeBase.objects.get(assistant=copy)
    assert [getattr(ours, name) for name in SETTINGS_FIELDS] == [
        getattr(theirs, name) for name in SETTINGS_FIELDS
    ]
    assert sorted(ours.documents.values_list("name", flat=True)) == sorted(
        theirs.documents.values_list("name", flat=True)
    )
    document = ours.documents.get(name="warranty.md")
    assert (bytes(document.content), document.tags) == (WARRANTY, ["policies"])
    assert document.status == DocumentStatus.READY  # read again through the normal ingestion
    passages = kb_search(ours, "how long is the guarantee", k=3).passages
    assert any("3-year limited warranty" in passage.text for passage in passages)
    case = PromptTestCase.objects.get(prompt__assistant=copy)
    assert (case.name, case.values, case.checks) == (
        "Pepperoni",
        {"topping": "pepperoni"},
        [{"kind": "contains", "value": "pepperoni"}],
    )
    assert comparable(services.assistant_export(copy)) == comparable(
        services.assistant_export(whole)
    )
    report = page.content.decode()
    for left_out in ("trained NLU models", "transcripts", "usage", "API keys"):
        assert left_out in report, left_out


def test_an_export_with_document_files_is_a_zip_archive_and_one_without_is_json(whole, assistant):
    exported = services.assistant_export_file(whole)
    plain = services.assistant_export_file(
        services.assistant_create(workspace=assistant.workspace, name="Empty")
    )

    assert (exported.filename, exported.content_type) == ("order-bot.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        assert archive.read("documents/warranty.md") == WARRANTY
        manifest = json.loads(archive.read("assistant.json"))
    assert manifest == services.assistant_export(whole)
    assert manifest["knowledge_base"]["settings"]["fusion"] == "rrf"
    assert (plain.filename, plain.content_type) == ("empty.json", "application/json")
    assert json.loads(plain.data)["knowledge_base"] is None


def test_a_document_missing_from_the_archive_is_reported_and_the_rest_comes_in(
    whole, other_workspace
):
    exported = services.assistant_export_file(whole)
    stripped = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(exported.data)) as archive,
        zipfile.ZipFile(stripped, "w") as out,
    ):
        for member in archive.namelist():
            if member != "documents/warranty.md":
                out.writestr(member, archive.read(member))
    stripped.seek(0)

    imported = services.assistant_import_file(workspace=other_workspace, upload=stripped)

    kb = KnowledgeBase.objects.get(assistant=imported.assistant)
    assert not kb.documents.filter(name="warranty.md").exists()
    assert kb.documents.count() == whole.knowledge_base.documents.count() - 1
    assert "document “warranty.md”: its file is not in the archive" in imported.not_carried


def test_an_export_of_the_earlier_format_still_imports(pizza, other_workspace):
    earlier = services.assistant_export(pizza)
    for key in ("settings", "knowledge_base"):
        del earlier[key]
    earlier["format"] = 1

    imported = services.assistant_import(workspace=other_workspace, document=earlier)

    assert imported.assistant.intents.count() == pizza.intents.count()
    assert not KnowledgeBase.objects.filter(assistant=imported.assistant).exists()
    assert any("earlier format" in line for line in imported.not_carried)


def test_bad_settings_refuse_the_import_and_a_model_this_installation_lacks_is_reported(
    pizza, other_workspace
):
    exported = services.assistant_export(pizza)
    exported["settings"]["allowed_origins"] = ["shop.example.com"]

    with pytest.raises(ValidationError) as refused:
        services.assistant_import(workspace=other_workspace, document=exported)
    exported["settings"] = {**exported["settings"], "allowed_origins": [], "llm_model": "x:gone"}
    imported = services.assistant_import(workspace=other_workspace, document=exported)

    assert refused.value.message_dict["document"] == [
        "settings, allowed_origins: 'shop.example.com' is not a site: write https://host[:port] "
        "or *."
    ]
    assert imported.assistant.llm_model is None
    assert (
        "settings: the LLM model 'x:gone' is not in this installation's catalogue; "
        "the copy uses the default model"
    ) in imported.not_carried


RASA_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hey
    - hello there
    - good morning
- intent: order_pizza
  examples: |
    - I want a [large](size) [pepperoni](topping) pizza
    - get me a [small]{"entity": "size"} [margherita](topping)
    - a [family sized](size:large) pizza please
    - I want a [large](size) [pepperoni](topping) pizza
- intent: track_order
  examples: |
    - where is order [PP-12345](order_number)
    - track my delivery
- synonym: large
  examples: |
    - big
    - XL
- regex: phone_number
  examples: |
    - \\d{3}-\\d{4}
- lookup: topping
  examples: |
    - hawaiian
    - veggie
- intent: ¿?
  examples: |
    - blah
- responses:
    utter_greet: hi
"""


def test_a_rasa_nlu_file_imports_intents_annotations_synonyms_regexes_and_lookups(assistant):
    with transaction.atomic():
        report = services.nlu_import_rasa(assistant=assistant, text=RASA_NLU)

    assert report.intents_created == ["greet", "order_pizza", "track_order"]
    assert report.utterances_added == 8
    assert sorted(report.entities_created) == ["order_number", "phone_number", "size", "topping"]
    assert report.skipped == [
        "line 13: 'I want a large pepperoni pizza' skipped: already there",
        "line 29: intent '¿?' skipped: "
        "The intent name may use letters, digits, '_', '-' and '.', no spaces.",
        "entry 8: unknown kind (responses)",
    ]
    size = assistant.entities.get(name="size")
    assert {v["value"]: v["synonyms"] for v in size.values} == {
        "large": ["big", "XL"],
        "small": [],
    }
    topping = assistant.entities.get(name="topping")
    assert {v["value"] for v in topping.values} == {"pepperoni", "margherita", "hawaiian", "veggie"}
    assert assistant.entities.get(name="phone_number").pattern == r"(?:\d{3}-\d{4})"
    family = assistant.intents.get(name="order_pizza").utterances.get(text__startswith="a family")
    assert family.entities == [{"start": 2, "end": 14, "entity": "size", "value": "large"}]


# A Rasa 3 project's data/nlu.yml as people write them: the same value spelt with and without
# capitals or accents, every annotation format, synonyms, a lookup table, a regex, emoji, an
# entity name with hyphens, and a stray double space typed before and inside an annotation.
RASA_PROJECT_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi 👋
    - hello there
- intent: pay_cc
  examples: |
    - I want to pay my [emblem](credit_card) card
    - pay off my [Emblem](credit_card) credit card
    - settle the [EMBLEM]{"entity": "credit_card", "value": "Emblem"} balance
    - pay my [emblm](credit_card) bill
    - can I pay my [justice](credit_card:justice bank) card
    - pay the [justice bank](credit_card) card 💳
    - please pay  my  [iron  bank](credit_card) card
    - pay [$100](amount-of-money) to my [iron bank](credit_card) card
    - send [50 dollars]{"entity": "amount-of-money"} to [Emblem](credit_card)
- intent: order_drink
  examples: |
    - a [cafe](drink) please
    - one [café](drink) to go ☕
    - two [Café](drink:café) and a [latte](drink)
- intent: check_balance
  examples: |
    - what is the balance of account 1234567890
- synonym: emblem
  examples: |
    - emblm
- synonym: justice bank
  examples: |
    - justice
    - justice league
- lookup: drink
  examples: |
    - espresso
    - Latte
- regex: account_number
  examples: |
    - \\d{10,12}
"""


def test_a_real_rasa_project_imports_with_spellings_merged_and_spaces_normalised(assistant):
    with transaction.atomic():
        report = services.nlu_import_rasa(assistant=assistant, text=RASA_PROJECT_NLU)

    assert report.skipped == []
    assert report.intents_created == ["greet", "pay_cc", "order_drink", "check_balance"]
    assert report.utterances_added == 15
    assert sorted(report.entities_created) == [
        "account_number",
        "amount-of-money",
        "credit_card",
        "drink",
    ]
    # One value per thing, whatever its spelling; the synonym blocks attached to it (a block's
    # value is the value, even where another spelling is used more: 'Emblem' thrice, 'emblem' once).
    values = {
        entity.name: {value["value"]: value["synonyms"] for value in entity.values}
        for entity in assistant.entities.filter(kind="list")
    }
    assert values["credit_card"] == {
        "emblem": ["Emblem", "emblm"],
        "iron bank": [],
        "justice bank": ["justice", "justice league"],
    }
    assert values["drink"] == {"café": ["cafe"], "espresso": [], "latte": ["Latte"]}
    assert values["amount-of-money"] == {"$100": [], "50 dollars": []}
    regex = assistant.entities.get(name="account_number")
    assert (regex.kind, regex.pattern) == ("regex", r"(?:\d{10,12})")
    # Every annotation still covers its words and names the merged value.
    utterances = {u.text: u for u in assistant.intents.get(name="pay_cc").utterances.all()}
    spans = {
        text: [(text[s["start"] : s["end"]], s["entity"], s["value"]) for s in u.entities]
        for text, u in utterances.items()
    }
    assert spans["please pay my iron bank card"] == [("iron bank", "credit_card", "iron bank")]
    assert spans["pay off my Emblem credit card"] == [("Emblem", "credit_card", "emblem")]
    assert spans["settle the EMBLEM balance"] == [("EMBLEM", "credit_card", "emblem")]
    assert spans["pay my emblm bill"] == [("emblm", "credit_card", "emblem")]
    assert spans["pay the justice bank card 💳"] == [
        ("justice bank", "credit_card", "justice bank")
    ]
    assert spans["send 50 dollars to Emblem"] == [
        ("50 dollars", "amount-of-money", "50 dollars"),
        ("Emblem", "credit_card", "emblem"),
    ]
    drinks = assistant.intents.get(name="order_drink").utterances.get(text__startswith="one")
    assert drinks.text == "one café to go ☕"
    assert drinks.entities == [{"start": 4, "end": 8, "entity": "drink", "value": "café"}]
    # What the assistant then understands.
    found = nlu_matcher(assistant).find("one CAFE and the Emblm card")
    assert [(e.entity, e.value) for e in found] == [("drink", "café"), ("credit_card", "emblem")]


def test_what_the_rasa_export_writes_the_rasa_import_reads_back(pizza, workspace):
    exported = services.nlu_export_rasa(pizza)
    copy = services.assistant_create(workspace=workspace, name="Copy")

    with transaction.atomic():
        report = services.nlu_import_rasa(assistant=copy, text=exported)

    assert report.skipped == []
    assert services.nlu_export_rasa(copy).split("- regex")[0] == exported.split("- regex")[0]


def test_invalid_yaml_is_refused_with_its_line(assistant):
    with pytest.raises(ValidationError, match="line 4: this is not valid YAML"):
        services.nlu_import_rasa(assistant=assistant, text="nlu:\n- intent: a\n  examples: [\n")
    assert not assistant.intents.exists()


def test_a_csv_of_text_and_intent_imports_with_a_report(assistant):
    text = "text,intent\nhello,greet\nhi there,greet\n,greet\nbye,\nhello,greet\nsee you,goodbye\n"

    with transaction.atomic():
        report = services.nlu_import_csv(assistant=assistant, text=text)

    assert report.as_dict() == {
        "intents_created": ["greet", "goodbye"],
        "utterances_added": 3,
        "entities_created": [],
        "skipped": [
            "line 4: needs text and intent",
            "line 5: needs text and intent",
            "line 6: already there",
        ],
        "renamed": [],
    }
    assert services.nlu_export_csv(assistant).splitlines()[1:] == [
        "see you,goodbye",
        "hello,greet",
        "hi there,greet",
    ]


def test_names_other_tools_allow_are_made_valid_and_reported(assistant):
    text = "text,intent\nmy card bounced,reverted_card_payment?\nwhy this fee,fee charged\n"

    with transaction.atomic():
        report = services.nlu_import_csv(assistant=assistant, text=text)

    assert report.intents_created == ["reverted_card_payment", "fee_charged"]
    assert report.renamed == [
        "reverted_card_payment? → reverted_card_payment",
        "fee charged → fee_charged",
    ]
    assert report.skipped == []


def test_a_test_set_gets_the_same_names_as_an_import_of_its_data():
    from quality.services.evaluations import test_set_read

    examples = test_set_read("t.csv", b"my card payment bounced,reverted_card_payment?\nhm,oos\n")

    assert [e.intent for e in examples] == ["reverted_card_payment", "oos"]


def test_import_and_export_over_the_api(api_for, editor, viewer, pizza, workspace):
    client = api_for(editor)
    document = client.get(f"/api/assistants/{pizza.pk}/export/").json()

    created = client.post(
        "/api/assistants/import/",
        {"workspace": workspace.pk, "name": "From API", "document": document},
        format="json",
    )
    refused = api_for(viewer).post(
        "/api/assistants/import/",
        {"workspace": workspace.pk, "name": "Nope", "document": document},
        format="json",
    )
    archive = client.get(f"/api/assistants/{pizza.pk}/export/", {"download": "1"})
    from_archive = client.post(
        "/api/assistants/import/",
        {
            "workspace": workspace.pk,
            "name": "From archive",
            "file": SimpleUploadedFile("pizza.zip", archive.getvalue()),
        },
        format="multipart",
    )
    csv_text = client.get(f"/api/assistants/{pizza.pk}/nlu/", {"kind": "csv"}).content.decode()

    assert created.status_code == 201, created.json()
    # The JSON names the knowledge base's files; the downloaded archive holds them.
    assert (
        "document “pizza-palace-faq.md”: its file is not in a JSON export (import the .zip)"
        in (created.json()["not_carried"])
    )
    assert archive["Content-Type"] == "application/zip"
    assert from_archive.status_code == 201, from_archive.json()
    copy = Assistant.objects.get(pk=from_archive.json()["id"])
    assert copy.knowledge_base.documents.count() == pizza.knowledge_base.documents.count()
    assert refused.status_code == 403
    assert csv_text.startswith("text,intent\r\n")
