"""The day indexes of the KPI facts and hop facts hold only the facts that have that day: the drill-down reads a
day family by `region` and a range of the day, which implies it is set, so the open work orders' closing days,
the undispatched ones' dispatch and reply days and the open hops' end days were index entries for nothing (every
work order the legacy import writes lacks two to four of them). Dropped and rebuilt partial, under the same names:
each one read of the fact table while its writes wait (docs/deployment.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0009_hopfact_ticket_index'),
        ('tickets', '0007_partial_and_unused_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='hopfact',
            name='rpt_hop_end_day',
        ),
        migrations.RemoveIndex(
            model_name='reportfact',
            name='rpt_fact_dispatched',
        ),
        migrations.RemoveIndex(
            model_name='reportfact',
            name='rpt_fact_replied',
        ),
        migrations.RemoveIndex(
            model_name='reportfact',
            name='rpt_fact_answered',
        ),
        migrations.RemoveIndex(
            model_name='reportfact',
            name='rpt_fact_closed',
        ),
        migrations.AddIndex(
            model_name='hopfact',
            index=models.Index(condition=models.Q(('hop_end_day__isnull', False)), fields=['region', 'hop_end_day'], name='rpt_hop_end_day'),
        ),
        migrations.AddIndex(
            model_name='reportfact',
            index=models.Index(condition=models.Q(('dispatched_day__isnull', False)), fields=['region', 'dispatched_day'], name='rpt_fact_dispatched'),
        ),
        migrations.AddIndex(
            model_name='reportfact',
            index=models.Index(condition=models.Q(('replied_day__isnull', False)), fields=['region', 'replied_day'], name='rpt_fact_replied'),
        ),
        migrations.AddIndex(
            model_name='reportfact',
            index=models.Index(condition=models.Q(('answered_day__isnull', False)), fields=['region', 'answered_day'], name='rpt_fact_answered'),
        ),
        migrations.AddIndex(
            model_name='reportfact',
            index=models.Index(condition=models.Q(('closed_day__isnull', False)), fields=['region', 'closed_day'], name='rpt_fact_closed'),
        ),
    ]
