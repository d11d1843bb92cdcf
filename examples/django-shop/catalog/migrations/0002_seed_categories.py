"""Data migration: the categories every shop starts with."""
from django.db import migrations

CATEGORIES = [("books", "Books"), ("games", "Games"), ("tools", "Tools")]


def seed(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    for slug, title in CATEGORIES:
        Category.objects.create(slug=slug, title=title)


def unseed(apps, schema_editor):
    apps.get_model("catalog", "Category").objects.filter(slug__in=[s for s, _ in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
