"""Foreign keys follow the assistants' models from builder to core: state only, the columns and
constraints stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_moved_from_builder'),
        ('knowledge', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables keep their names (db_table): only Django's idea of the models moves.
            state_operations=[
                migrations.AlterField(
                    model_name='knowledgebase',
                    name='assistant',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='knowledge_base', to='core.assistant'),
                ),
            ],
        ),
    ]
