from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0015_product_dodo_fields')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WorkerHeartbeat',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('beaten_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_heartbeat', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'The last time a worker (`host:pid:random`, one per process run) was seen passing over its work.'},
            bases=['Model'],
        ),
    ]
