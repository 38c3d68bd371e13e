"""Evaluation and test runs move here from builder: state only, the tables (builder_*) and their
rows stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


def content_types_follow(apps, schema_editor):
    """Rows that point at a model through its content type (admin history, permissions) keep
    pointing at it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    models = ['evaluationrun', 'comparisonitem', 'conversationtestrun', 'prompttestrun']
    ContentType.objects.filter(app_label="builder", model__in=models).update(app_label="quality")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('builder', '0017_evaluation_nlu_mode'),
        ('core', '0001_moved_from_builder'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.CreateModel(
                    name='ConversationTestRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('stage', models.CharField(blank=True, max_length=64)),
                        ('progress', models.FloatField(default=0.0)),
                        ('error', models.TextField(blank=True)),
                        ('report', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('suite', models.CharField(blank=True, max_length=64)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversation_test_runs', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_conversationtestrun',
                        'ordering': ['-created_at', '-id'],
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='EvaluationRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('holdout', 'Held-out split (20 % of each intent)'), ('kfold', 'K-fold cross-validation'), ('test_set', 'Uploaded test set (on the draft model)'), ('compare', 'In-house NLU vs LLM vs hybrid')], max_length=16)),
                        ('nlu_mode', models.CharField(choices=[('fast', 'Fast: trains in seconds'), ('accurate', 'Accurate: fine-tunes the encoder first, trains in minutes')], default='fast', max_length=16)),
                        ('folds', models.PositiveSmallIntegerField(default=5)),
                        ('test_name', models.CharField(blank=True, max_length=255)),
                        ('llm_model', models.CharField(blank=True, max_length=100)),
                        ('max_items', models.PositiveIntegerField(default=200)),
                        ('few_shot', models.PositiveSmallIntegerField(default=3)),
                        ('test_set', models.JSONField(blank=True, default=list)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('stopped', 'Stopped')], default='queued', max_length=16)),
                        ('stage', models.CharField(blank=True, max_length=64)),
                        ('attempt', models.PositiveIntegerField(default=0)),
                        ('progress', models.FloatField(default=0.0)),
                        ('error', models.TextField(blank=True)),
                        ('model_version', models.CharField(blank=True, max_length=64)),
                        ('report', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='evaluations', to='core.assistant')),
                    ],
                    options={
                        'db_table': 'builder_evaluationrun',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='PromptTestRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('stage', models.CharField(blank=True, max_length=64)),
                        ('progress', models.FloatField(default=0.0)),
                        ('error', models.TextField(blank=True)),
                        ('report', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('model_keys', models.JSONField(default=list)),
                        ('repetitions', models.PositiveSmallIntegerField(default=1)),
                        ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_runs', to='core.promptversion')),
                    ],
                    options={
                        'db_table': 'builder_prompttestrun',
                        'ordering': ['-created_at', '-id'],
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='ComparisonItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveIntegerField()),
                        ('record', models.JSONField()),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='quality.evaluationrun')),
                    ],
                    options={
                        'db_table': 'builder_comparisonitem',
                        'ordering': ['run', 'index'],
                        'constraints': [models.UniqueConstraint(fields=('run', 'index'), name='comparison_item_once')],
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(content_types_follow, migrations.RunPython.noop),
            ],
        ),
    ]
