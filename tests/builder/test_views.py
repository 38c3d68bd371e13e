"""The creator's pages: accounts, workspaces, members and assistants."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client

from core.models import Assistant, Membership, Role, Workspace


def test_signing_up_logs_the_new_account_in(client: Client, db: None) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "nina",
            "email": "Nina@Example.com",
            "password1": "correct horse battery",
            "password2": "correct horse battery",
        },
        follow=True,
    )
    assert "Welcome, nina!" in response.content.decode()
    assert response.context["user"].username == "nina"
    assert get_user_model().objects.get(username="nina").email == "nina@example.com"


def test_signup_refuses_an_email_that_is_taken(client: Client, owner: User) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "copycat",
            "email": "olivia@example.com",
            "password1": "correct horse battery",
            "password2": "correct horse battery",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="copycat").exists()


def test_a_password_change_takes_effect(client_for: Callable[[User], Client], owner: User) -> None:
    response = client_for(owner).post(
        "/accounts/password/",
        {
            "old_password": "a-long-test-passphrase",
            "new_password1": "another long passphrase",
            "new_password2": "another long passphrase",
        },
    )
    assert response.status_code == 302
    assert Client().login(username="olivia", password="another long passphrase")


def test_creating_a_workspace_from_the_page_lands_on_it(
    client_for: Callable[[User], Client], owner: User
) -> None:
    response = client_for(owner).post("/workspaces/", {"name": "Bakery"}, follow=True)
    workspace = Workspace.objects.get(name="Bakery")
    assert response.redirect_chain[-1][0] == f"/workspaces/{workspace.pk}/"
    assert "No assistants yet" in response.content.decode()
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER


def test_an_assistant_is_created_renamed_and_deleted_from_the_pages(
    client_for: Callable[[User], Client], owner: User, workspace: Workspace
) -> None:
    client = client_for(owner)
    client.post(
        f"/workspaces/{workspace.pk}/",
        {"name": "Booking bot", "description": "Books tables.", "language": "de"},
    )
    assistant = Assistant.objects.get(name="Booking bot")
    client.post(f"/assistants/{assistant.pk}/edit/", {"name": "Table bot", "language": "de"})
    page = client.get(f"/assistants/{assistant.pk}/").content.decode()
    assert "Table bot" in page
    assert "German" in page
    client.post(f"/assistants/{assistant.pk}/delete/")
    assert not Assistant.objects.filter(pk=assistant.pk).exists()


def test_an_over_long_assistant_name_is_shown_on_the_field_and_nothing_is_saved(
    client_for: Callable[[User], Client], owner: User, workspace: Workspace
) -> None:
    response = client_for(owner).post(
        f"/workspaces/{workspace.pk}/", {"name": "n" * 101, "language": "en"}
    )
    assert response.status_code == 200
    assert "at most 100 characters" in response.context["form"].errors["name"][0]
    assert not Assistant.objects.exists()


def test_a_duplicate_name_on_rename_is_shown_on_the_field(
    client_for: Callable[[User], Client], owner: User, assistant: Assistant
) -> None:
    client = client_for(owner)
    client.post(f"/workspaces/{assistant.workspace_id}/", {"name": "Second", "language": "en"})
    second = Assistant.objects.get(name="Second")
    response = client.post(
        f"/assistants/{second.pk}/edit/", {"name": "order bot", "language": "en"}
    )
    assert "already has an assistant named" in response.context["form"].errors["name"][0]
    second.refresh_from_db()
    assert second.name == "Second"


def test_deleting_a_workspace_needs_its_exact_name(
    client_for: Callable[[User], Client], owner: User, assistant: Assistant
) -> None:
    client = client_for(owner)
    url = f"/workspaces/{assistant.workspace_id}/delete/"
    client.post(url, {"confirm_name": "acme"})
    assert Workspace.objects.filter(pk=assistant.workspace_id).exists()
    client.post(url, {"confirm_name": "Acme support"})
    assert not Workspace.objects.filter(pk=assistant.workspace_id).exists()
    assert not Assistant.objects.filter(pk=assistant.pk).exists()


def test_an_owner_adds_a_member_who_then_sees_the_workspace(
    client_for: Callable[[User], Client],
    owner: User,
    outsider: User,
    assistant: Assistant,
) -> None:
    client_for(owner).post(
        f"/workspaces/{assistant.workspace_id}/members/", {"user": "oscar", "role": "viewer"}
    )
    page = client_for(outsider).get(f"/assistants/{assistant.pk}/")
    assert page.status_code == 200
    assert "Rename or edit" not in page.content.decode()


def test_the_last_owner_is_told_why_they_cannot_leave(
    client_for: Callable[[User], Client], owner: User, workspace: Workspace
) -> None:
    membership = workspace.memberships.get(user=owner)
    response = client_for(owner).post(
        f"/workspaces/{workspace.pk}/members/{membership.pk}/", {"action": "remove"}, follow=True
    )
    assert "at least one owner" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_api_token_can_be_created_and_replaced(
    client_for: Callable[[User], Client], owner: User
) -> None:
    client = client_for(owner)
    client.post("/accounts/token/")
    first = client.get("/accounts/").context["token"].key
    client.post("/accounts/token/")
    second = client.get("/accounts/").context["token"].key
    assert first != second


def test_the_nlu_training_mode_is_chosen_on_the_edit_page(
    client_for: Callable[[User], Client], owner: User, assistant: Assistant
) -> None:
    client = client_for(owner)
    form = client.get(f"/assistants/{assistant.pk}/edit/").content.decode()
    client.post(
        f"/assistants/{assistant.pk}/edit/",
        {"name": assistant.name, "language": "en", "nlu_mode": "accurate"},
    )
    assistant.refresh_from_db()
    assert 'name="nlu_mode"' in form
    assert "Accurate: fine-tunes the encoder first" in form
    assert assistant.nlu_mode == "accurate"
    assert (
        'value="accurate" selected'
        in client.get(f"/assistants/{assistant.pk}/edit/").content.decode()
    )
