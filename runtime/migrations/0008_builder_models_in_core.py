"""Foreign keys follow the assistants' models from builder to core: state only, the columns and
constraints stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_moved_from_builder'),
        ('runtime', '0007_message_conversation_index_in_unique'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.AlterField(
                    model_name='conversation',
                    name='assistant',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='core.assistant'),
                ),
                migrations.AlterField(
                    model_name='conversation',
                    name='version',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.assistantversion'),
                ),
            ],
        ),
    ]
