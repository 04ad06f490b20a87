from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0021_invoice_tax_rate_summary_and_business_tax_id')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Payment',
            index=Index(fields=['business_id', 'livemode', 'created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Refund',
            index=Index(fields=['payment_id', 'created_at']),
        ),
    ]
