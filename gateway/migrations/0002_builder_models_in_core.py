"""Foreign keys follow the assistants' models from builder to core: state only, the columns and
constraints stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_moved_from_builder'),
        ('gateway', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.AlterField(
                    model_name='attempt',
                    name='assistant',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.assistant'),
                ),
                migrations.AlterField(
                    model_name='attempt',
                    name='prompt_version',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.promptversion'),
                ),
                migrations.AlterField(
                    model_name='attempt',
                    name='workspace',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.workspace'),
                ),
                migrations.AlterField(
                    model_name='call',
                    name='assistant',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='llm_calls', to='core.assistant'),
                ),
                migrations.AlterField(
                    model_name='call',
                    name='prompt_version',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='llm_calls', to='core.promptversion'),
                ),
                migrations.AlterField(
                    model_name='call',
                    name='workspace',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='llm_calls', to='core.workspace'),
                ),
                migrations.AlterField(
                    model_name='semanticcacheentry',
                    name='workspace',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.workspace'),
                ),
            ],
        ),
    ]
