from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0010_custom_domain_verification')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EmailMessage',
            name='sealed_context',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
