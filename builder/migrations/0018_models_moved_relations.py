"""builder's models moved to core and quality: state only, the tables stay (step 1, their
relations)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('builder', '0017_evaluation_nlu_mode'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.RemoveField(
                    model_name='assistant',
                    name='llm_model',
                ),
                migrations.RemoveField(
                    model_name='assistant',
                    name='published_version',
                ),
                migrations.RemoveField(
                    model_name='assistant',
                    name='workspace',
                ),
                migrations.RemoveField(
                    model_name='flow',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='conversationtest',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='prompt',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='trainingrun',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='entity',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='intent',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='evaluationrun',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='assistantversion',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='comparisonitem',
                    name='run',
                ),
                migrations.RemoveField(
                    model_name='conversationtest',
                    name='source_conversation',
                ),
                migrations.RemoveField(
                    model_name='utterance',
                    name='intent',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='workspace',
                ),
                migrations.RemoveField(
                    model_name='prompttestcase',
                    name='prompt',
                ),
                migrations.RemoveField(
                    model_name='promptversion',
                    name='prompt',
                ),
                migrations.RemoveField(
                    model_name='prompttestcase',
                    name='source_call',
                ),
                migrations.RemoveField(
                    model_name='prompttestrun',
                    name='version',
                ),
                migrations.RemoveField(
                    model_name='promptversion',
                    name='model',
                ),
                migrations.DeleteModel(
                    name='ConversationTestRun',
                ),
                migrations.DeleteModel(
                    name='Flow',
                ),
                migrations.DeleteModel(
                    name='TrainingRun',
                ),
                migrations.DeleteModel(
                    name='Entity',
                ),
            ],
        ),
    ]
