"""The default assessment scheme (seed 000's customer-service KPIs); editable afterwards in the admin."""

from django.db import migrations

ITEMS = (
    ("综合满意度达标", "satisfaction", "attainment", 0.90, 20, ""),
    ("综合满意度改善", "satisfaction", "improvement", 0.02, 10, ""),
    ("短板改善", "satisfaction", "short_board", 0.05, 15, ""),
    ("窗口服务满意度", "satisfaction", "attainment", 0.90, 15, "hall,hotline"),
    ("工单处理及时率", "timeliness", "attainment", 0.95, 20, ""),
    ("回访完成率", "callback_rate", "attainment", 0.90, 10, ""),
    ("重复投诉率", "repeat_rate", "attainment", 0.05, 10, ""),
)


def create(apps, schema_editor):
    Scheme = apps.get_model("reports", "AssessmentScheme")
    Item = apps.get_model("reports", "AssessmentItem")
    if Scheme.objects.exists():
        return
    scheme = Scheme.objects.create(
        name="客户服务考核（种子000）", description="满意度达标/改善、短板改善、窗口服务满意度、工单及时率等。")
    for position, (name, measure, method, target, weight, channels) in enumerate(ITEMS):
        Item.objects.create(scheme=scheme, position=position, name=name, measure=measure, method=method,
                            target=target, weight=weight, channels=channels)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
