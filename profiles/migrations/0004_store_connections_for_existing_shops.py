import secrets

from django.db import migrations


def create_connections(apps, schema_editor):
    Shop = apps.get_model("profiles", "Shop")
    StoreConnection = apps.get_model("profiles", "StoreConnection")
    StoreConnection.objects.bulk_create([
        StoreConnection(shop=shop, webhook_secret="whsec_" + secrets.token_urlsafe(32),
                        publishable_key="pk_" + secrets.token_urlsafe(18))
        for shop in Shop.objects.filter(store_connection__isnull=True)])


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_store_connections")]

    operations = [migrations.RunPython(create_connections, migrations.RunPython.noop)]
