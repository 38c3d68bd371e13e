"""Prompt templates: variables, rendering, and the checks before sending."""

from __future__ import annotations

import pytest

from builder import services
from gateway.errors import PromptInvalid
from gateway.prompts import messages_check, prompt_render, template_render, template_variables


def test_a_templates_variables_are_its_placeholders_in_order_once_each():
    assert template_variables("Hi {{name}}, your {{ order.id }} for {{name}}") == [
        "name",
        "order.id",
    ]


def test_rendering_fills_values_once_so_user_text_cannot_reach_other_variables():
    rendered = template_render(
        "Q: {{question}} Secret: {{secret}}", {"question": "{{secret}}", "secret": "s3"}
    )

    assert rendered == "Q: {{secret}} Secret: s3"


def test_a_missing_or_empty_variable_is_named_in_the_error():
    with pytest.raises(PromptInvalid, match="city"):
        template_render("Weather in {{city}} on {{day}}", {"day": "Monday", "city": ""})


def test_a_prompt_over_the_size_limit_is_refused(settings):
    settings.LLM_MAX_PROMPT_CHARS = 50

    with pytest.raises(PromptInvalid, match="limit is 50"):
        messages_check([{"role": "user", "content": "x" * 51}], context_window=8000, max_tokens=1)


def test_a_message_with_an_unknown_role_is_refused():
    with pytest.raises(PromptInvalid, match="unknown role"):
        messages_check([{"role": "tool", "content": "x"}], context_window=8000, max_tokens=1)


def test_a_prompt_version_renders_system_history_and_template(assistant):
    prompt = services.prompt_create(
        assistant=assistant,
        name="Upsell",
        system="You sell pizza for {{shop}}.",
        template="The customer said: {{said}}",
    )
    version = prompt.versions.get()

    rendered = prompt_render(
        version,
        {"shop": "Pizza Palace", "said": "I want a large one"},
        history=[{"role": "assistant", "content": "Hello!"}],
    )

    assert rendered.messages == [
        {"role": "system", "content": "You sell pizza for Pizza Palace."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "The customer said: I want a large one"},
    ]
    assert rendered.untrusted == ["Pizza Palace", "I want a large one"]
