from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0020_customer_updated_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Business',
            name='tax_id',
            field=fields.CharField(default='', db_default='', max_length=50),
        ),
        ops.AddField(
            model_name='Invoice',
            name='tax_rate_bp',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='summary',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
