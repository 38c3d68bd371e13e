"""Reading a document becomes a job of its own (``DocumentReading``, run by ``core.jobs``).

Tasks queued before this migration name a document, not a reading, so none of them reads it
now: a document still waiting for its reading (or in one) fails, saying how to read it again."""

import django.db.models.deletion
from django.db import migrations, models

UNREAD = (
    "Parley was updated before this document was read. Refresh the document or upload it again."
)


def fail_unread(apps, schema_editor):
    Document = apps.get_model("knowledge", "Document")
    waiting = Document.objects.filter(status__in=["queued", "processing"])
    waiting.filter(chunk_count=0).update(status="failed", progress=0.0, error=UNREAD)
    waiting.update(
        status="failed",
        progress=0.0,
        error=f"{UNREAD} The previous version stays searchable.",
    )


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0002_builder_models_in_core'),
    ]

    operations = [
        migrations.CreateModel(
            name='DocumentReading',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                ('stage', models.CharField(blank=True, max_length=64)),
                ('progress', models.FloatField(default=0.0)),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='readings', to='knowledge.document')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
            },
        ),
        migrations.RunPython(fail_unread, migrations.RunPython.noop),
    ]
