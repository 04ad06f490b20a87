from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0018_purchase_checkout')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Subscription',
            name='next_retry_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Subscription',
            name='renewal_attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
