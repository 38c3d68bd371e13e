"""Workspaces, assistants and what creators design move here from builder: state only, the
tables (builder_*) and their rows stay as they are."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def content_types_follow(apps, schema_editor):
    """Rows that point at a model through its content type (admin history, permissions) keep
    pointing at it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    models = ['workspace', 'membership', 'assistant', 'assistantversion', 'flow', 'intent', 'utterance', 'entity', 'trainingrun', 'prompt', 'promptversion', 'conversationtest', 'prompttestcase']
    ContentType.objects.filter(app_label="builder", model__in=models).update(app_label="core")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('builder', '0017_evaluation_nlu_mode'),
        ('gateway', '0001_initial'),
        ('runtime', '0007_message_conversation_index_in_unique'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.CreateModel(
                    name='Workspace',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'builder_workspace',
                        'ordering': [django.db.models.functions.text.Lower('name'), 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Assistant',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('description', models.TextField(blank=True, max_length=2000)),
                        ('language', models.CharField(choices=[('en', 'English'), ('fr', 'French'), ('de', 'German'), ('es', 'Spanish'), ('it', 'Italian'), ('pt', 'Portuguese'), ('nl', 'Dutch')], default='en', max_length=8)),
                        ('allowed_origins', models.JSONField(blank=True, default=list)),
                        ('llm_requests_per_minute', models.PositiveIntegerField(blank=True, default=60, null=True)),
                        ('llm_tokens_per_minute', models.PositiveIntegerField(blank=True, default=100000, null=True)),
                        ('llm_monthly_budget', models.DecimalField(blank=True, decimal_places=2, help_text='US dollars; empty: none.', max_digits=12, null=True)),
                        ('llm_injection_judge', models.BooleanField(default=False, help_text='Also ask the LLM whether user text tries to hijack a prompt.')),
                        ('nlu_threshold', models.FloatField(blank=True, help_text='Confidence below which a turn is no match; empty: the one each training calibrates on held-out data.', null=True)),
                        ('nlu_mode', models.CharField(choices=[('fast', 'Fast: trains in seconds'), ('accurate', 'Accurate: fine-tunes the encoder first, trains in minutes')], default='fast', help_text="Accurate fine-tunes the NLU's encoder on this assistant's utterances: more accurate, minutes instead of seconds per training.", max_length=16)),
                        ('hybrid_enabled', models.BooleanField(default=False, help_text='Let the LLM decide the turns the in-house NLU is unsure of.')),
                        ('hybrid_low', models.FloatField(default=0.3, help_text="Below this confidence the NLU's no-match stands.")),
                        ('hybrid_high', models.FloatField(default=0.7, help_text="From this confidence up the NLU's intent stands.")),
                        ('publish_requires_tests', models.BooleanField(default=False, help_text='Publishing plays the conversation tests first and stops when one fails.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('llm_model', models.ForeignKey(blank=True, help_text="Empty: the instance's default model.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gateway.llmmodel')),
                    ],
                    options={
                        'db_table': 'builder_assistant',
                        'ordering': [django.db.models.functions.text.Lower('name'), 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='AssistantVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('notes', models.CharField(blank=True, max_length=500)),
                        ('snapshot', models.JSONField()),
                        ('nlu_version', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_assistantversion',
                        'ordering': ['assistant_id', '-number'],
                    },
                ),
                migrations.AddField(
                    model_name='assistant',
                    name='published_version',
                    field=models.ForeignKey(blank=True, help_text='What the runtime serves; empty: nothing published yet.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.assistantversion'),
                ),
                migrations.CreateModel(
                    name='ConversationTest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('suite', models.CharField(default='default', max_length=64)),
                        ('turns', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversation_tests', to='core.assistant')),
                        ('source_conversation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='runtime.conversation')),
                    ],
                    options={
                        'db_table': 'builder_conversationtest',
                        'ordering': ['suite', 'name', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Entity',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('kind', models.CharField(choices=[('list', 'List of values with synonyms'), ('regex', 'Regular expression'), ('builtin', 'Built-in')], default='list', max_length=16)),
                        ('values', models.JSONField(blank=True, default=list)),
                        ('pattern', models.CharField(blank=True, max_length=500)),
                        ('builtin', models.CharField(blank=True, max_length=32)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entities', to='core.assistant')),
                    ],
                    options={
                        'verbose_name_plural': 'entities',
                        'db_table': 'builder_entity',
                        'ordering': [django.db.models.functions.text.Lower('name'), 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Flow',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('graph', models.JSONField(default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flows', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_flow',
                        'ordering': ['id'],
                    },
                ),
                migrations.CreateModel(
                    name='Intent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('description', models.TextField(blank=True, help_text='When should this intent trigger?', max_length=2000)),
                        ('required_entities', models.JSONField(blank=True, default=list)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='intents', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_intent',
                        'ordering': [django.db.models.functions.text.Lower('name'), 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Prompt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='prompts', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_prompt',
                        'ordering': [django.db.models.functions.text.Lower('name'), 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='PromptTestCase',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('values', models.JSONField(default=dict)),
                        ('checks', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('prompt', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_cases', to='core.prompt')),
                        ('source_call', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gateway.call')),
                    ],
                    options={
                        'db_table': 'builder_prompttestcase',
                        'ordering': ['prompt_id', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='PromptVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('system', models.TextField(blank=True, max_length=20000)),
                        ('template', models.TextField(max_length=20000)),
                        ('variables', models.JSONField(default=list)),
                        ('temperature', models.FloatField(default=0.3)),
                        ('max_tokens', models.PositiveIntegerField(default=400)),
                        ('notes', models.CharField(blank=True, max_length=500)),
                        ('output_schema', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('model', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gateway.llmmodel')),
                        ('prompt', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='core.prompt')),
                    ],
                    options={
                        'db_table': 'builder_promptversion',
                        'ordering': ['prompt_id', '-number'],
                    },
                ),
                migrations.CreateModel(
                    name='TrainingRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Training'), ('done', 'Trained'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('stage', models.CharField(blank=True, max_length=32)),
                        ('progress', models.FloatField(default=0.0)),
                        ('data_hash', models.CharField(blank=True, max_length=64)),
                        ('model_version', models.CharField(blank=True, max_length=64)),
                        ('error', models.TextField(blank=True)),
                        ('metrics', models.JSONField(blank=True, default=dict)),
                        ('analysis', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='training_runs', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_trainingrun',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Utterance',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('text', models.CharField(max_length=1000)),
                        ('entities', models.JSONField(blank=True, default=list)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('intent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='utterances', to='core.intent')),
                    ],
                    options={
                        'db_table': 'builder_utterance',
                        'ordering': ['id'],
                    },
                ),
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('owner', 'Owner'), ('editor', 'Editor'), ('viewer', 'Viewer')], default='viewer', max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
                        ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='core.workspace')),
                    ],
                    options={
                        'db_table': 'builder_membership',
                        'ordering': ['workspace_id', 'user__username'],
                    },
                ),
                migrations.AddField(
                    model_name='assistant',
                    name='workspace',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assistants', to='core.workspace'),
                ),
                migrations.AddConstraint(
                    model_name='assistantversion',
                    constraint=models.UniqueConstraint(fields=('assistant', 'number'), name='version_number_unique'),
                ),
                migrations.AddConstraint(
                    model_name='entity',
                    constraint=models.UniqueConstraint(models.F('assistant'), django.db.models.functions.text.Lower('name'), name='entity_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='flow',
                    constraint=models.UniqueConstraint(models.F('assistant'), django.db.models.functions.text.Lower('name'), name='flow_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='intent',
                    constraint=models.UniqueConstraint(models.F('assistant'), django.db.models.functions.text.Lower('name'), name='intent_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='prompt',
                    constraint=models.UniqueConstraint(models.F('assistant'), django.db.models.functions.text.Lower('name'), name='prompt_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='promptversion',
                    constraint=models.UniqueConstraint(fields=('prompt', 'number'), name='prompt_version_number_unique'),
                ),
                migrations.AddConstraint(
                    model_name='utterance',
                    constraint=models.UniqueConstraint(models.F('intent'), django.db.models.functions.text.Lower('text'), name='utterance_unique_in_intent'),
                ),
                migrations.AddConstraint(
                    model_name='membership',
                    constraint=models.UniqueConstraint(fields=('workspace', 'user'), name='one_membership_per_user'),
                ),
                migrations.AddConstraint(
                    model_name='assistant',
                    constraint=models.UniqueConstraint(models.F('workspace'), django.db.models.functions.text.Lower('name'), name='assistant_name_unique_in_workspace'),
                ),
            ],
            database_operations=[
                migrations.RunPython(content_types_follow, migrations.RunPython.noop),
            ],
        ),
    ]
