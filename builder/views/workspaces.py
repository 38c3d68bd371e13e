from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from builder import services
from builder.forms import AssistantForm, MemberAddForm, MemberRoleForm, WorkspaceForm, submit
from core.models import Role, Workspace, can_edit, can_manage
from core.pages import AuthenticatedRequest, member_workspace


@login_required
def workspace_list(request: AuthenticatedRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = submit(
            form, services.workspace_create, name=form.cleaned_data["name"], owner=request.user
        )
        if workspace:
            messages.success(request, f"Workspace “{workspace.name}” created.")
            return redirect("workspace-detail", pk=workspace.pk)
    workspaces = Workspace.objects.for_member(request.user).annotate(
        assistant_count=Count("assistants", distinct=True)
    )
    return render(request, "builder/workspace_list.html", {"workspaces": workspaces, "form": form})


@login_required
def workspace_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk, edit=request.method == "POST")
    form = AssistantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {key: form.cleaned_data[key] for key in ("name", "description", "language")}
        assistant = submit(
            form,
            services.assistant_create,
            workspace=workspace,
            allowed_origins=form.origins(),
            **fields,
        )
        if assistant:
            messages.success(request, f"Assistant “{assistant.name}” created.")
            return redirect("assistant-detail", pk=assistant.pk)
    context = {
        "workspace": workspace,
        "assistants": workspace.assistants.all(),
        "form": form,
        "can_edit": can_edit(workspace.member_role),
        "can_manage": can_manage(workspace.member_role),
    }
    return render(request, "builder/workspace_detail.html", context)


@login_required
def workspace_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk, manage=True)
    form = WorkspaceForm(request.POST or None, initial={"name": workspace.name})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        if submit(form, services.workspace_rename, workspace=workspace, name=name):
            messages.success(request, "Workspace renamed.")
            return redirect("workspace-detail", pk=workspace.pk)
    return render(
        request, "builder/workspace_settings.html", {"workspace": workspace, "form": form}
    )


@login_required
@require_POST
def workspace_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk, manage=True)
    if request.POST.get("confirm_name", "").strip() != workspace.name:
        messages.error(request, "Type the workspace's exact name to delete it.")
        return redirect("workspace-settings", pk=workspace.pk)
    workspace.delete()
    messages.success(request, f"Workspace “{workspace.name}” and its assistants were deleted.")
    return redirect("workspace-list")


@login_required
def workspace_members(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk, manage=request.method == "POST")
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = submit(
            form,
            services.member_add,
            workspace=workspace,
            username_or_email=form.cleaned_data["user"],
            role=Role(form.cleaned_data["role"]),
        )
        if membership:
            messages.success(request, f"{membership.user} joined as {membership.role}.")
            return redirect("workspace-members", pk=workspace.pk)
    context = {
        "workspace": workspace,
        "memberships": workspace.memberships.select_related("user"),
        "form": form,
        "roles": Role.choices,
        "can_manage": can_manage(workspace.member_role),
    }
    return render(request, "builder/workspace_members.html", context)


@login_required
@require_POST
def member_update(request: AuthenticatedRequest, pk: int, member_pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk, manage=True)
    membership = get_object_or_404(workspace.memberships, pk=member_pk)
    try:
        if request.POST.get("action") == "remove":
            services.member_remove(membership=membership)
            messages.success(request, f"{membership.user} was removed.")
        else:
            form = MemberRoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.get_json_data())
            services.member_change_role(membership=membership, role=Role(form.cleaned_data["role"]))
            messages.success(request, f"{membership.user} is now {membership.role}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("workspace-members", pk=workspace.pk)
