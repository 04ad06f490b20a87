from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_wha_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('portal', '0004_credit_notes_email_change')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookAttempt',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_wha_id, unique=True, db_index=True, max_length=40)),
                ('delivery', fields.ForeignKeyField('portal.WebhookDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_rows', on_delete=OnDelete.CASCADE)),
                ('status_code', fields.IntField(null=True)),
                ('duration_ms', fields.IntField()),
                ('response_snippet', fields.CharField(default='', max_length=500)),
                ('error', fields.TextField(null=True, unique=False)),
                ('attempted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_attempt', 'app': 'portal', 'pk_attr': 'id', 'table_description': "One POST of a delivery: the answer's status (null when none came), how long it took and what it said."},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Event',
            name='fanned_out',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['fanned_out', 'created_at']),
        ),
        ops.AlterModelOptions(
            name='WebhookDelivery',
            options={'table': 'webhook_delivery', 'app': 'portal', 'unique_together': (('endpoint', 'event'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'One event for one endpoint, at most one per pair; its id is the `webhook-id` of every attempt.'},
        ),
        ops.AddConstraint(
            model_name='WebhookDelivery',
            constraint=UniqueConstraint(fields=('endpoint', 'event'), name=None),
        ),
        ops.AlterModelOptions(
            name='WebhookEndpoint',
            options={'table': 'webhook_endpoint', 'app': 'portal', 'pk_attr': 'id', 'table_description': "Where a business receives its events, signed with `secret` (Standard Webhooks' `whsec_…`)."},
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='disabled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='failing_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='previous_secret',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='previous_secret_expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
