from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields

async def restore_sqlite_indexes(apps, schema_editor):
    """SQLite rebuilds the table to make `subscription_id` nullable and loses two of its indexes on the way (other
    databases alter the column in place): put them back."""
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    await client.execute_script(
        'CREATE INDEX IF NOT EXISTS "idx_checkout_se_created_fa1a5b" ON "checkout_session" ("created_at");'
        'CREATE UNIQUE INDEX IF NOT EXISTS "uid_checkout_se_subscri_0017" ON "checkout_session" ("subscription_id");'
    )


class Migration(migrations.Migration):
    dependencies = [('portal', '0017_discount_deleted_at')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='CheckoutSession',
            name='subscription',
            field=fields.OneToOneField('portal.Subscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='checkout_session', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='attempt',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='customer',
            field=fields.ForeignKeyField('portal.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name='checkout_sessions', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='idempotency_key',
            field=fields.CharField(null=True, unique=True, max_length=200),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='items',
            field=fields.JSONField(default=list, db_default=SqlDefault("'[]'"), encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='payment',
            field=fields.ForeignKeyField('portal.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='checkout_sessions', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='CheckoutSession',
            name='request_fingerprint',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.RunPython(restore_sqlite_indexes, ops.RunPython.noop),
    ]
