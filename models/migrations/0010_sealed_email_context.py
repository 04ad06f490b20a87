from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0007_invoice_line_wording')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EmailMessage',
            name='sealed_context',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
