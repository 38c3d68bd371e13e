"""builder's models moved to core and quality: state only, the tables stay (step 2, the
models)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0001_moved_from_builder'),
        ('builder', '0018_models_moved_relations'),
        ('gateway', '0002_builder_models_in_core'),
        ('knowledge', '0002_builder_models_in_core'),
        ('runtime', '0008_builder_models_in_core'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.DeleteModel(
                    name='Assistant',
                ),
                migrations.DeleteModel(
                    name='AssistantVersion',
                ),
                migrations.DeleteModel(
                    name='ComparisonItem',
                ),
                migrations.DeleteModel(
                    name='EvaluationRun',
                ),
                migrations.DeleteModel(
                    name='ConversationTest',
                ),
                migrations.DeleteModel(
                    name='Intent',
                ),
                migrations.DeleteModel(
                    name='Utterance',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='Workspace',
                ),
                migrations.DeleteModel(
                    name='Prompt',
                ),
                migrations.DeleteModel(
                    name='PromptTestCase',
                ),
                migrations.DeleteModel(
                    name='PromptTestRun',
                ),
                migrations.DeleteModel(
                    name='PromptVersion',
                ),
            ],
        ),
    ]
